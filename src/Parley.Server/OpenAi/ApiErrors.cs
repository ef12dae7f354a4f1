using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Inference.Serving;

namespace Parley.Server.OpenAi;

/// <summary>Writes refusals in OpenAI's error envelope, so every client shows the message instead of a parse failure.</summary>
public static class ApiErrors
{
    public static Task WriteAsync(HttpContext http, ApiException e)
    {
        http.Response.StatusCode = e.Status;
        if (e.Status == 429) http.Response.Headers.RetryAfter = (e.RetryAfterSeconds ?? 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
        http.Response.ContentType = "application/json";
        return http.Response.WriteAsync(JsonSerializer.Serialize(Envelope(e)), http.RequestAborted);
    }

    /// <summary>Turns what an endpoint throws into the error envelope (before the response has started).</summary>
    public static async Task Middleware(HttpContext http, RequestDelegate next)
    {
        try
        {
            await next(http);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
        }
        catch (Exception e) when (!http.Response.HasStarted)
        {
            var error = From(e);
            if (error.Status >= 500)
            {
                http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Parley.Server").LogError(e, "request failed");
            }

            await WriteAsync(http, error);
        }
    }

    public static object Envelope(ApiException e) => new { error = new { message = e.Message, type = e.Type, param = e.Param, code = e.Code } };

    /// <summary>Maps what the engine and Kestrel throw to API errors; anything else is a 500 without internals.</summary>
    public static ApiException From(Exception e) => e switch
    {
        ApiException a => a,
        QueueFullException q => new ApiException(429, q.Message, "rate_limit_error", code: "server_busy"),
        BadHttpRequestException { StatusCode: 413 } => new ApiException(413, "The request body is too large.", code: "request_too_large"),
        BadHttpRequestException b => ApiException.BadRequest(b.Message),
        JsonException j => ApiException.BadRequest($"The request body is not valid JSON: {j.Message}", code: "invalid_json"),
        ArgumentException a => ApiException.BadRequest(a.Message),
        _ => new ApiException(500, "The server failed to process the request.", "server_error"),
    };
}
