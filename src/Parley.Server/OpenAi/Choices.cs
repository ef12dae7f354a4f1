using System.Text;
using Microsoft.AspNetCore.Http;
using Parley.Inference.Generation;
using Parley.Inference.Serving;
using Parley.Server.Hosting;

namespace Parley.Server.OpenAi;

/// <summary>One choice of a request as the engine produced it.</summary>
public sealed record ChoiceResult(string Text, IReadOnlyList<StreamedToken> Tokens, FinishReason Finish);

/// <summary>How an endpoint's stream chunks look: built from the choice index and what varies.</summary>
/// <param name="Opening">The first chunk of a choice, if the endpoint sends one.</param>
/// <param name="Token">A chunk carrying text (and the logprobs object, or null).</param>
/// <param name="Logprobs">The logprobs object of one token.</param>
/// <param name="Finish">The closing chunk with the finish reason.</param>
/// <param name="Usage">The final chunk carrying the usage object.</param>
public sealed record StreamShape(
    Func<int, object>? Opening,
    Func<int, string, object?, object> Token,
    Func<StreamedToken, object> Logprobs,
    Func<int, string?, object> Finish,
    Func<object, object> Usage);

/// <summary>Submitting a request's choices to the engine and gathering them, shared by chat and completions.</summary>
public static class Choices
{
    /// <summary>
    /// Submits n choices per prompt (choice index = prompt × n + i). If the engine refuses one, those
    /// already queued are cancelled through the call and the refusal is thrown.
    /// </summary>
    public static List<GenerationStream> Submit(LoadedModel model, IReadOnlyList<IReadOnlyList<int>> prompts, GenerationParameters p, V1Call call)
    {
        var limits = prompts.Select(prompt => p.TokensFor(prompt.Count, model.ContextLength)).ToList();
        var streams = new List<GenerationStream>();
        try
        {
            for (int i = 0; i < prompts.Count; i++)
            {
                for (int c = 0; c < p.N; c++)
                {
                    var stream = model.Scheduler.Submit(p.Request(prompts[i], limits[i], streams.Count), call.Cancel.Token);
                    streams.Add(stream);
                    call.Submitted.Add(stream);
                }
            }
        }
        catch
        {
            call.Cancel.Cancel();
            throw;
        }

        return streams;
    }

    public static async Task<ChoiceResult> CollectAsync(GenerationStream stream, CancellationToken ct)
    {
        var text = new StringBuilder();
        var tokens = new List<StreamedToken>();
        await foreach (var t in stream.Tokens.ReadAllAsync(ct))
        {
            text.Append(t.Text);
            tokens.Add(t);
        }

        return new ChoiceResult(text.ToString(), tokens, stream.FinishReason);
    }

    /// <summary>
    /// The stream's tokens in batches: whatever has arrived by the time the previous batch was sent,
    /// so a slow connection gets fewer, larger writes instead of falling behind token by token.
    /// </summary>
    public static async IAsyncEnumerable<List<StreamedToken>> BatchesAsync(GenerationStream stream, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var reader = stream.Tokens;
        while (await reader.WaitToReadAsync(ct))
        {
            var batch = new List<StreamedToken>();
            while (reader.TryRead(out var t)) batch.Add(t);
            yield return batch;
        }
    }

    /// <summary>
    /// The streaming frame both endpoints share: per choice an optional opening chunk, the tokens
    /// (plain text through a <see cref="TextChunkTemplate"/>, a full chunk where logprobs ride along)
    /// and a closing chunk with the finish reason; then the usage chunk if asked for, then [DONE].
    /// </summary>
    public static async Task StreamAsync(HttpResponse response, IReadOnlyList<GenerationStream> streams, IReadOnlyList<IReadOnlyList<int>> prompts,
        GenerationParameters p, StreamShape shape, CancellationToken ct)
    {
        var sse = new SseWriter(response);
        sse.Start();
        await Task.WhenAll(streams.Select(async (stream, index) =>
        {
            if (shape.Opening?.Invoke(index) is { } opening) await sse.WriteAsync(opening, ct);
            var text = new TextChunkTemplate(shape.Token(index, TextChunkTemplate.Marker, null));
            await foreach (var batch in BatchesAsync(stream, ct))
            {
                var chunks = batch.Where(t => t.Text.Length > 0 || t.Logprob is not null)
                    .Select(t => t.Logprob is null ? text.With(t.Text) : shape.Token(index, t.Text, shape.Logprobs(t)))
                    .ToList();
                if (chunks.Count > 0) await sse.WriteAsync(chunks, ct);
            }

            await sse.WriteAsync(shape.Finish(index, Reason(stream.FinishReason)), ct);
        }));

        if (p.IncludeUsage) await sse.WriteAsync(shape.Usage(Usage(streams, prompts)), ct);
        await sse.DoneAsync(ct);
    }

    public static string? Reason(FinishReason r) => r switch
    {
        FinishReason.Stop => "stop",
        FinishReason.Length => "length",
        _ => null,
    };

    /// <summary>Token counts of a request; a prompt's cached tokens count once, from its first choice.</summary>
    public static object Usage(IReadOnlyList<GenerationStream> streams, IReadOnlyList<IReadOnlyList<int>> prompts)
    {
        int n = streams.Count / prompts.Count;
        int prompt = prompts.Sum(p => p.Count);
        int completion = streams.Sum(s => s.CompletionTokens);
        int cached = 0;
        for (int i = 0; i < streams.Count; i += n) cached += streams[i].CachedPromptTokens;
        return new
        {
            prompt_tokens = prompt,
            completion_tokens = completion,
            total_tokens = prompt + completion,
            prompt_tokens_details = new { cached_tokens = cached },
        };
    }

    public static string NewId(string prefix) => prefix + Guid.NewGuid().ToString("N")[..24];
}
