using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Parley.Inference.Serving;
using Parley.Server.Accounts;
using Parley.Server.Hosting;

namespace Parley.Server.OpenAi;

/// <summary>What one /v1 request shares with its endpoint: the cancellation of its sequences, and those submitted (for usage).</summary>
public sealed record V1Call(CancellationTokenSource Cancel, List<GenerationStream> Submitted);

/// <summary>
/// The frame of every generation endpoint: parse the body, find the model, read the shared
/// parameters, run the endpoint, and turn any refusal into OpenAI's error envelope (or, once a
/// stream has started, into a final error event). The request's sequences are cancelled when it
/// ends for any reason, so a client that disconnects frees its KV blocks at the next engine step.
/// </summary>
public static class OpenAiRequest
{
    public delegate Task Endpoint(RequestJson body, LoadedModel model, GenerationParameters parameters, V1Call call);

    public static async Task RunAsync(HttpContext http, ModelRegistry models, bool chat, Endpoint endpoint)
    {
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(http.RequestAborted);
        var call = new V1Call(cancel, []);
        LoadedModel? served = null;
        try
        {
            using var doc = await JsonDocument.ParseAsync(http.Request.Body, default, http.RequestAborted);
            var j = RequestJson.From(doc);
            string id = j.RequiredString("model");
            var model = served = models.Get(id) ?? throw ApiException.ModelNotFound(id);
            await endpoint(j, model, GenerationParameters.Parse(j, chat), call);
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
            if (served is not null && call.Submitted.Count > 0) await Usage.RecordAsync(http, served.Id, call.Submitted);
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
