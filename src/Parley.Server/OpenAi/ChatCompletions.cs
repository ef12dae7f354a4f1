using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Parley.Inference.Serving;
using Parley.Inference.Templates;
using Parley.Server.Hosting;

namespace Parley.Server.OpenAi;

/// <summary>POST /v1/chat/completions: the conversation goes through the model's chat template, then the scheduler.</summary>
public static class ChatCompletions
{
    private static readonly HashSet<string> Roles = ["system", "developer", "user", "assistant", "tool"];

    public static Task Handle(HttpContext http, ModelRegistry models) =>
        OpenAiRequest.RunAsync(http, models, chat: true, async (j, model, p, call) =>
        {
            var messages = ParseMessages(j);
            var prompt = Render(model, messages);
            var streams = Choices.Submit(model, [prompt], p, call);
            string id = Choices.NewId("chatcmpl-");
            long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
            if (p.Stream) await StreamAsync(http, model, p, streams, [prompt], id, created, call.Cancel.Token);
            else await RespondAsync(http, model, streams, [prompt], id, created, call.Cancel.Token);
        });

    /// <summary>The messages as the template sees them: role and text content (text parts joined).</summary>
    public static List<Dictionary<string, object?>> ParseMessages(RequestJson j)
    {
        if (j.Get("messages") is not { ValueKind: JsonValueKind.Array } array)
        {
            throw j.Get("messages") is null
                ? ApiException.BadRequest("Missing required parameter: 'messages'.", "messages")
                : RequestJson.Wrong("messages", "an array");
        }

        var messages = new List<Dictionary<string, object?>>();
        int i = 0;
        foreach (var m in array.EnumerateArray())
        {
            string param = $"messages[{i++}]";
            if (m.ValueKind != JsonValueKind.Object) throw RequestJson.Wrong(param, "an object");
            var fields = new RequestJson(m);
            string role = fields.String("role") ?? throw ApiException.BadRequest($"Missing required parameter: '{param}.role'.", $"{param}.role");
            if (!Roles.Contains(role)) throw ApiException.BadRequest($"Invalid value for '{param}.role': '{role}'. Supported: system, developer, user, assistant, tool.", $"{param}.role");
            messages.Add(new Dictionary<string, object?>
            {
                ["role"] = role == "developer" ? "system" : role,
                ["content"] = Content(fields.Get("content"), $"{param}.content"),
            });
        }

        if (messages.Count == 0) throw ApiException.BadRequest("'messages' must hold at least one message.", "messages");
        return messages;
    }

    private static string Content(JsonElement? content, string param)
    {
        switch (content)
        {
            case null:
                return "";
            case { ValueKind: JsonValueKind.String } s:
                return s.GetString()!;
            case { ValueKind: JsonValueKind.Array } parts:
                var texts = new List<string>();
                foreach (var part in parts.EnumerateArray())
                {
                    var f = part.ValueKind == JsonValueKind.Object ? new RequestJson(part) : throw RequestJson.Wrong(param, "an array of content parts");
                    string type = f.String("type") ?? throw ApiException.BadRequest($"Missing required parameter: '{param}[].type'.", param);
                    if (type != "text") throw ApiException.BadRequest($"Content parts of type '{type}' are not supported: this model reads text only.", param);
                    texts.Add(f.String("text") ?? throw ApiException.BadRequest($"Missing required parameter: '{param}[].text'.", param));
                }

                return string.Join("\n", texts);
            default:
                throw RequestJson.Wrong(param, "a string or an array of content parts");
        }
    }

    /// <summary>Renders the conversation with the model's template and tokenizes it (BOS only where the template did not write it).</summary>
    public static List<int> Render(LoadedModel model, List<Dictionary<string, object?>> messages)
    {
        var vocab = model.Tokenizer.Vocab;
        string bos = model.SpecialText(vocab.Bos), eos = model.SpecialText(vocab.Eos);
        string text;
        try
        {
            text = model.Template.Render(new Dictionary<string, object?>
            {
                ["messages"] = messages,
                ["add_generation_prompt"] = true,
                ["bos_token"] = bos,
                ["eos_token"] = eos,
            });
        }
        catch (TemplateException e)
        {
            throw e.RaisedByTemplate
                ? ApiException.BadRequest(e.Message, "messages", "chat_template_error")
                : new ApiException(500, $"The chat template of '{model.Id}' failed: {e.Message}", "server_error");
        }

        bool hasBos = bos.Length > 0 && text.StartsWith(bos, StringComparison.Ordinal);
        return model.Tokenizer.Encode(text, addSpecial: !hasBos, parseSpecial: true);
    }

    private static async Task RespondAsync(HttpContext http, LoadedModel model, List<GenerationStream> streams, IReadOnlyList<IReadOnlyList<int>> prompts,
        string id, long created, CancellationToken ct)
    {
        var results = await Task.WhenAll(streams.Select(s => Choices.CollectAsync(s, ct)));
        var choices = results.Select((r, i) => new
        {
            index = i,
            message = new { role = "assistant", content = r.Text, refusal = (string?)null },
            logprobs = r.Tokens.Any(t => t.Logprob is not null) ? new { content = r.Tokens.Where(t => t.Logprob is not null).Select(t => LogprobEntry(model, t)).ToList() } : null,
            finish_reason = Choices.Reason(r.Finish),
        });
        await http.Response.WriteAsJsonAsync(new
        {
            id,
            @object = "chat.completion",
            created,
            model = model.Id,
            system_fingerprint = (string?)null,
            choices,
            usage = Choices.Usage(streams, prompts),
        }, ct);
    }

    private static Task StreamAsync(HttpContext http, LoadedModel model, GenerationParameters p, List<GenerationStream> streams,
        IReadOnlyList<IReadOnlyList<int>> prompts, string id, long created, CancellationToken ct)
    {
        object Chunk(int index, object delta, object? logprobs, string? finish) => new
        {
            id,
            @object = "chat.completion.chunk",
            created,
            model = model.Id,
            system_fingerprint = (string?)null,
            choices = new[] { new { index, delta, logprobs, finish_reason = finish } },
            usage = (object?)null,
        };

        return Choices.StreamAsync(http.Response, streams, prompts, p, new StreamShape(
            Opening: index => Chunk(index, new { role = "assistant", content = "" }, null, null),
            Token: (index, text, logprobs) => Chunk(index, new { content = text }, logprobs, null),
            Logprobs: t => new { content = new[] { LogprobEntry(model, t) } },
            Finish: (index, reason) => Chunk(index, new { }, null, reason),
            Usage: usage => new
            {
                id,
                @object = "chat.completion.chunk",
                created,
                model = model.Id,
                system_fingerprint = (string?)null,
                choices = Array.Empty<object>(),
                usage,
            }), ct);
    }

    private static object LogprobEntry(LoadedModel model, StreamedToken t) => new
    {
        token = model.TokenText(t.Id),
        logprob = t.Logprob!.Value.Logprob,
        bytes = model.TokenBytes(t.Id).Select(b => (int)b),
        top_logprobs = (t.TopLogprobs ?? []).Select(a => new { token = model.TokenText(a.Id), logprob = a.Logprob, bytes = model.TokenBytes(a.Id).Select(b => (int)b) }),
    };
}
