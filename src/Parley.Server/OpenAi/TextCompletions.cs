using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Parley.Inference.Serving;
using Parley.Server.Hosting;

namespace Parley.Server.OpenAi;

/// <summary>POST /v1/completions: raw text (or token) prompts, no chat template.</summary>
public static class TextCompletions
{
    public static Task Handle(HttpContext http, ModelRegistry models) =>
        OpenAiRequest.RunAsync(http, models, chat: false, async (j, model, p, call) =>
        {
            var prompts = ParsePrompts(j, model);
            var streams = Choices.Submit(model, prompts, p, call);
            string id = Choices.NewId("cmpl-");
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (p.Stream) await StreamAsync(http, model, p, streams, prompts, id, created, call.Cancel.Token);
            else await RespondAsync(http, model, streams, prompts, id, created, call.Cancel.Token);
        });

    /// <summary>A string, an array of strings, an array of token ids, or an array of such arrays.</summary>
    private static List<IReadOnlyList<int>> ParsePrompts(RequestJson j, LoadedModel model)
    {
        const string shape = "a string, an array of strings, or token ids";
        List<int> Text(string s) => model.Tokenizer.Encode(s, addSpecial: true, parseSpecial: true);
        List<int> Ids(JsonElement a)
        {
            var ids = new List<int>();
            foreach (var e in a.EnumerateArray())
            {
                if (e.ValueKind != JsonValueKind.Number || !e.TryGetInt32(out int id)) throw RequestJson.Wrong("prompt", shape);
                if ((uint)id >= (uint)model.Model.VocabSize) throw ApiException.BadRequest($"Token id {id} is outside the vocabulary of {model.Model.VocabSize}.", "prompt");
                ids.Add(id);
            }

            return ids;
        }

        var prompts = new List<IReadOnlyList<int>>();
        switch (j.Get("prompt"))
        {
            case null:
                throw ApiException.BadRequest("Missing required parameter: 'prompt'.", "prompt");
            case { ValueKind: JsonValueKind.String } s:
                prompts.Add(Text(s.GetString()!));
                break;
            case { ValueKind: JsonValueKind.Array } a when a.GetArrayLength() > 0 && a[0].ValueKind == JsonValueKind.Number:
                prompts.Add(Ids(a));
                break;
            case { ValueKind: JsonValueKind.Array } a:
                foreach (var e in a.EnumerateArray())
                {
                    prompts.Add(e.ValueKind switch
                    {
                        JsonValueKind.String => Text(e.GetString()!),
                        JsonValueKind.Array => Ids(e),
                        _ => throw RequestJson.Wrong("prompt", shape),
                    });
                }

                break;
            default:
                throw RequestJson.Wrong("prompt", shape);
        }

        if (prompts.Count == 0 || prompts.Any(p => p.Count == 0)) throw ApiException.BadRequest("'prompt' must not be empty.", "prompt");
        return prompts;
    }

    private static async Task RespondAsync(HttpContext http, LoadedModel model, List<GenerationStream> streams, List<IReadOnlyList<int>> prompts,
        string id, long created, CancellationToken ct)
    {
        var results = await Task.WhenAll(streams.Select(s => Choices.CollectAsync(s, ct)));
        await http.Response.WriteAsJsonAsync(new
        {
            id,
            @object = "text_completion",
            created,
            model = model.Id,
            system_fingerprint = (string?)null,
            choices = results.Select((r, i) => new
            {
                text = r.Text,
                index = i,
                logprobs = Logprobs(model, r.Tokens),
                finish_reason = Choices.Reason(r.Finish),
            }),
            usage = Choices.Usage(streams, prompts),
        }, ct);
    }

    private static Task StreamAsync(HttpContext http, LoadedModel model, GenerationParameters p, List<GenerationStream> streams,
        List<IReadOnlyList<int>> prompts, string id, long created, CancellationToken ct)
    {
        object Chunk(int index, string text, object? logprobs, string? finish) => new
        {
            id,
            @object = "text_completion",
            created,
            model = model.Id,
            system_fingerprint = (string?)null,
            choices = new[] { new { text, index, logprobs, finish_reason = finish } },
            usage = (object?)null,
        };

        return Choices.StreamAsync(http.Response, streams, prompts, p, new StreamShape(
            Opening: null,
            Token: (index, text, logprobs) => Chunk(index, text, logprobs, null),
            Logprobs: t => Logprobs(model, [t])!,
            Finish: (index, reason) => Chunk(index, "", null, reason),
            Usage: usage => new
            {
                id,
                @object = "text_completion",
                created,
                model = model.Id,
                choices = Array.Empty<object>(),
                usage,
            }), ct);
    }

    /// <summary>The legacy logprobs object (tokens, token_logprobs, top_logprobs, text_offset), or null when not asked for.</summary>
    private static object? Logprobs(LoadedModel model, IReadOnlyList<StreamedToken> tokens)
    {
        var scored = tokens.Where(t => t.Logprob is not null).ToList();
        if (scored.Count == 0) return null;
        var offsets = new List<int>();
        int offset = 0;
        foreach (var t in scored)
        {
            offsets.Add(offset);
            offset += model.TokenText(t.Id).Length;
        }

        return new
        {
            tokens = scored.Select(t => model.TokenText(t.Id)),
            token_logprobs = scored.Select(t => t.Logprob!.Value.Logprob),
            top_logprobs = scored.Select(t => (t.TopLogprobs ?? []).GroupBy(a => model.TokenText(a.Id)).ToDictionary(g => g.Key, g => g.First().Logprob)),
            text_offset = offsets,
        };
    }
}
