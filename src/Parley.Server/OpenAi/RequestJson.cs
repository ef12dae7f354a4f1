using System.Text.Json;
using Microsoft.AspNetCore.Http;

namespace Parley.Server.OpenAi;

/// <summary>
/// Reads the fields of a JSON request body with OpenAI's type rules; a field of the wrong type or
/// out of range is a 400 that names it. Absent and null fields read as null.
/// </summary>
public readonly struct RequestJson(JsonElement root)
{
    public JsonElement Root { get; } = root;

    public static RequestJson From(JsonDocument doc) =>
        doc.RootElement.ValueKind == JsonValueKind.Object
            ? new RequestJson(doc.RootElement)
            : throw ApiException.BadRequest("The request body must be a JSON object.");

    /// <summary>Reads a whole JSON object body (the element outlives the read).</summary>
    public static async Task<RequestJson> ReadAsync(HttpRequest request)
    {
        if (request.ContentType is not { } type || !type.StartsWith("application/json", StringComparison.OrdinalIgnoreCase))
        {
            throw new ApiException(415, "Send the body as JSON (Content-Type: application/json).", code: "unsupported_media_type");
        }

        using var doc = await JsonDocument.ParseAsync(request.Body, default, request.HttpContext.RequestAborted);
        return new RequestJson(From(doc).Root.Clone());
    }

    /// <summary>A JSON body where one may be left out: no body reads as an empty object.</summary>
    public static async Task<RequestJson> ReadOptionalAsync(HttpRequest request) =>
        request.ContentLength > 0 || request.Headers.TransferEncoding.Count > 0 ? await ReadAsync(request) : new RequestJson(JsonDocument.Parse("{}").RootElement.Clone());

    public JsonElement? Get(string name) =>
        Root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public string? String(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } v => v.GetString(),
        _ => throw Wrong(name, "a string"),
    };

    public string RequiredString(string name) => String(name) ?? throw ApiException.BadRequest($"Missing required parameter: '{name}'.", name);

    public bool? Bool(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw Wrong(name, "a boolean"),
    };

    public int? Int(string name, int min, int max)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out long x)) throw Wrong(name, "an integer");
        if (x < min || x > max) throw ApiException.BadRequest($"Invalid '{name}': {x} is outside [{min}, {max}].", name);
        return (int)x;
    }

    public long? Long(string name)
    {
        if (Get(name) is not { } v) return null;
        return v.ValueKind == JsonValueKind.Number && v.TryGetInt64(out long x) ? x : throw Wrong(name, "an integer");
    }

    public float? Float(string name, float min, float max)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number) throw Wrong(name, "a number");
        double x = v.GetDouble();
        if (x < min || x > max) throw ApiException.BadRequest($"Invalid '{name}': {x} is outside [{min}, {max}].", name);
        return (float)x;
    }

    public JsonElement? Object(string name) => Get(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Object } v => v,
        _ => throw Wrong(name, "an object"),
    };

    public static ApiException Wrong(string name, string expected) =>
        ApiException.BadRequest($"Invalid type for '{name}': expected {expected}.", name, "invalid_type");
}
