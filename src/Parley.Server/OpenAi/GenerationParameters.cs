using System.Text.Json;
using Parley.Inference.Generation;
using Parley.Inference.Sampling;
using Parley.Inference.Serving;

namespace Parley.Server.OpenAi;

/// <summary>
/// What /v1/chat/completions and /v1/completions share: token limit, sampling, stops, n, seed,
/// streaming and logprobs, read and checked from the request. Sampling defaults are OpenAI's
/// (temperature 1, top_p 1); top_k, min_p and repetition_penalty are accepted as vLLM does.
/// </summary>
public sealed record GenerationParameters
{
    public const int MaxChoices = 16;
    public const int MaxStops = 4;

    public int? MaxTokens { get; init; }
    public int N { get; init; } = 1;
    public bool Stream { get; init; }
    public bool IncludeUsage { get; init; }
    public IReadOnlyList<string> Stop { get; init; } = [];
    public SamplingOptions Sampling { get; init; } = new();
    public bool Logprobs { get; init; }
    public int TopLogprobs { get; init; }
    /// <summary>vLLM's ignore_eos: generate exactly the token limit (benchmarks).</summary>
    public bool IgnoreEos { get; init; }

    /// <summary>Reads the shared fields; <paramref name="chat"/> selects chat's logprobs shape (bool + top_logprobs) over the legacy integer.</summary>
    public static GenerationParameters Parse(RequestJson j, bool chat)
    {
        int? max = j.Int("max_completion_tokens", 1, int.MaxValue) ?? j.Int("max_tokens", 1, int.MaxValue);
        bool logprobs;
        int top;
        if (chat)
        {
            logprobs = j.Bool("logprobs") ?? false;
            top = j.Int("top_logprobs", 0, Inference.Serving.Logprobs.MaxTop) ?? 0;
            if (top > 0 && !logprobs) throw ApiException.BadRequest("'top_logprobs' requires 'logprobs' to be true.", "top_logprobs");
        }
        else
        {
            int? legacy = j.Int("logprobs", 0, 5);
            logprobs = legacy is not null;
            top = legacy ?? 0;
        }

        long? seed = j.Long("seed");
        var streamOptions = j.Object("stream_options");
        bool stream = j.Bool("stream") ?? false;
        if (streamOptions is not null && !stream) throw ApiException.BadRequest("'stream_options' is only allowed when 'stream' is true.", "stream_options");
        return new GenerationParameters
        {
            MaxTokens = max,
            N = j.Int("n", 1, MaxChoices) ?? 1,
            Stream = stream,
            IncludeUsage = streamOptions is { } o && new RequestJson(o).Bool("include_usage") == true,
            Stop = ParseStop(j),
            Logprobs = logprobs,
            TopLogprobs = top,
            IgnoreEos = j.Bool("ignore_eos") ?? false,
            Sampling = new SamplingOptions
            {
                Temperature = j.Float("temperature", 0, 2) ?? 1f,
                TopP = j.Float("top_p", 0, 1) ?? 1f,
                TopK = j.Int("top_k", -1, int.MaxValue) is int k && k > 0 ? k : 0,
                MinP = j.Float("min_p", 0, 1) ?? 0f,
                PresencePenalty = j.Float("presence_penalty", -2, 2) ?? 0f,
                FrequencyPenalty = j.Float("frequency_penalty", -2, 2) ?? 0f,
                RepetitionPenalty = j.Float("repetition_penalty", 0.01f, 10) ?? 1f,
                PenaltyLastN = -1,
                Seed = seed is long s ? unchecked((ulong)s) : null,
            },
        };
    }

    private static List<string> ParseStop(RequestJson j)
    {
        switch (j.Get("stop"))
        {
            case null:
                return [];
            case { ValueKind: JsonValueKind.String } s:
                return [s.GetString()!];
            case { ValueKind: JsonValueKind.Array } a:
                var stops = new List<string>();
                foreach (var e in a.EnumerateArray())
                {
                    if (e.ValueKind != JsonValueKind.String) throw RequestJson.Wrong("stop", "a string or an array of strings");
                    stops.Add(e.GetString()!);
                }

                if (stops.Count > MaxStops) throw ApiException.BadRequest($"'stop' may hold at most {MaxStops} sequences.", "stop");
                return stops;
            default:
                throw RequestJson.Wrong("stop", "a string or an array of strings");
        }
    }

    /// <summary>The token limit for a prompt: as asked, or the rest of the context; over the context is a 400 naming both numbers.</summary>
    public int TokensFor(int promptTokens, int context)
    {
        if (promptTokens >= context || (MaxTokens is int m && promptTokens + (long)m > context))
        {
            int asked = MaxTokens ?? 1;
            throw ApiException.BadRequest(
                $"This model's maximum context length is {context} tokens. However, you requested {promptTokens + (long)asked} tokens " +
                $"({promptTokens} in the prompt, {asked} for the completion). Please reduce the length of the prompt or the completion.",
                MaxTokens is null ? "messages" : "max_tokens", "context_length_exceeded");
        }

        return MaxTokens ?? context - promptTokens;
    }

    /// <summary>The engine request of choice <paramref name="index"/>; each choice draws from its own seed.</summary>
    public GenerationRequest Request(IReadOnlyList<int> prompt, int maxTokens, int index) =>
        new(prompt, new GenerationOptions
        {
            MaxTokens = maxTokens,
            Stop = Stop,
            StopAtEndOfGeneration = !IgnoreEos,
            Sampling = Sampling.Seed is ulong s ? Sampling with { Seed = s + (ulong)index } : Sampling,
        })
        {
            Logprobs = Logprobs,
            TopLogprobs = TopLogprobs,
        };
}
