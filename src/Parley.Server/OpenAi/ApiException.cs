namespace Parley.Server.OpenAi;

/// <summary>
/// A request the API refuses, with the HTTP status and the fields of OpenAI's error envelope
/// ({"error": {"message", "type", "param", "code"}}). Thrown by validation, written by <see cref="ApiErrors"/>.
/// </summary>
public sealed class ApiException(int status, string message, string type = "invalid_request_error", string? param = null, string? code = null)
    : Exception(message)
{
    public int Status { get; } = status;
    public string Type { get; } = type;
    public string? Param { get; } = param;
    public string? Code { get; } = code;
    /// <summary>For 429: when to try again (Retry-After); one second when not set.</summary>
    public int? RetryAfterSeconds { get; init; }

    public static ApiException BadRequest(string message, string? param = null, string? code = null) => new(400, message, param: param, code: code);

    /// <summary>404 for what does not exist or belongs to someone else: the two must look the same.</summary>
    public static ApiException NotFound(string what) => new(404, $"No such {what}.", "not_found_error", code: "not_found");

    public static ApiException ModelNotFound(string model) =>
        new(404, $"The model '{model}' does not exist or you do not have access to it.", param: "model", code: "model_not_found");
}
