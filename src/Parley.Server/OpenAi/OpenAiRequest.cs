using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Server.Hosting;

namespace Parley.Server.OpenAi;

/// <summary>
/// The frame of every generation endpoint: parse the body, find the model, read the shared
/// parameters, run the endpoint, and turn any refusal into OpenAI's error envelope (or, once a
/// stream has started, into a final error event). The request's sequences are cancelled when it
/// ends for any reason, so a client that disconnects frees its KV blocks at the next engine step.
/// </summary>
public static class OpenAiRequest
{
    public delegate Task Endpoint(RequestJson body, LoadedModel model, GenerationParameters parameters, CancellationTokenSource cancel);

    public static async Task RunAsync(HttpContext http, ModelRegistry models, bool chat, Endpoint endpoint)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        try
        {
            using var doc = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
            var j = RequestJson.From(doc);
            string id = j.RequiredString("model");
            var model = models.Get(id) ?? throw ApiException.ModelNotFound(id);
            await endpoint(j, model, GenerationParameters.Parse(j, chat), cancel);
        }
        catch (OperationCanceledException) when (http.RequestAborted.IsCancellationRequested)
        {
            // The client went away; cancelling below ends its sequences.
        }
        catch (Exception e)
        {
            var error = ApiErrors.From(e);
            if (error.Status >= 500)
            {
                http.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger("Parley.Server.OpenAi").LogError(e, "request failed");
            }

            if (!http.Response.HasStarted) await ApiErrors.WriteAsync(http, error);
            else await WriteStreamErrorAsync(http, error);
        }
        finally
        {
            await cancel.CancelAsync();
        }
    }

    private static async Task WriteStreamErrorAsync(HttpContext http, ApiException e)
    {
        try
        {
            await http.Response.WriteAsync($"data: {JsonSerializer.Serialize(ApiErrors.Envelope(e))}\n\n", http.RequestAborted);
        }
        catch (Exception) when (http.RequestAborted.IsCancellationRequested)
        {
        }
    }
}
