using Parley.Inference.Models;
using Parley.Inference.Sampling;
using Parley.Inference.Tokenization;

namespace Parley.Inference.Generation;

/// <summary>
/// Single-sequence generation on its own cache: evaluates the prompt in one batch, then samples one
/// token per step, keys and values stored as <paramref name="cacheTypes"/> (F16 by default). The
/// server does not use this; its scheduler batches many sequences.
/// </summary>
public sealed class TextGenerator(ILanguageModel model, Tokenizer tokenizer, KvCacheTypes? cacheTypes = null)
{
    public FinishReason FinishReason { get; private set; }

    public IEnumerable<GeneratedToken> Generate(IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancellation = default)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt is empty", nameof(prompt));
        if (prompt.Count >= model.Config.ContextLength)
        {
            throw new ArgumentException($"the prompt has {prompt.Count} tokens, the context holds {model.Config.ContextLength}");
        }

        // Room for the prompt and the longest output, not the whole context (a 128k context would take gigabytes).
        using var cache = model.CreateCache((int)Math.Min(model.Config.ContextLength, (long)prompt.Count + options.MaxTokens), cacheTypes);
        var sampler = new Sampler(options.Sampling);
        var output = new OutputAssembler(tokenizer, options);
        var history = new List<int>(prompt);
        var logits = new float[model.VocabSize];
        model.Forward(prompt.ToArray(), 0, cache, logits);

        FinishReason = FinishReason.Length;
        for (int n = 0; n < options.MaxTokens; n++)
        {
            cancellation.ThrowIfCancellationRequested();
            int id = sampler.Sample(logits, history);
            string? text = output.Accept(id);
            if (text is null)
            {
                FinishReason = FinishReason.Stop;
                yield break;
            }

            history.Add(id);
            yield return new GeneratedToken(id, text);
            if (output.Stopped)
            {
                FinishReason = FinishReason.Stop;
                yield break;
            }

            int pos = history.Count - 1;
            if (n + 1 == options.MaxTokens || pos >= cache.Capacity) break;
            model.Forward([id], pos, cache, logits);
        }

        string rest = output.Flush();
        if (rest.Length > 0) yield return new GeneratedToken(-1, rest);
    }
}
