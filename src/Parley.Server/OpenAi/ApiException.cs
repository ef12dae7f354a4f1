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

    public static ApiException BadRequest(string message, string? param = null, string? code = null) => new(400, message, param: param, code: code);

    public static ApiException ModelNotFound(string model) =>
        new(404, $"The model '{model}' does not exist or you do not have access to it.", param: "model", code: "model_not_found");
}
