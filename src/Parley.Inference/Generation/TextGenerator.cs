using Parley.Inference.Models;
using Parley.Inference.Sampling;
using Parley.Inference.Tokenization;

namespace Parley.Inference.Generation;

/// <summary>
/// Single-sequence generation: evaluates the prompt in one batch, then samples one token per step,
/// streaming text that never splits a character or leaks part of a stop string.
/// </summary>
public sealed class TextGenerator(LlamaModel model, Tokenizer tokenizer)
{
    public FinishReason FinishReason { get; private set; }

    public IEnumerable<GeneratedToken> Generate(IReadOnlyList<int> prompt, GenerationOptions options, CancellationToken cancellation = default)
    {
        if (prompt.Count == 0) throw new ArgumentException("the prompt is empty", nameof(prompt));
        if (prompt.Count >= model.Config.ContextLength)
        {
            throw new ArgumentException($"the prompt has {prompt.Count} tokens, the context holds {model.Config.ContextLength}");
        }

        using var cache = model.CreateCache();
        var sampler = new Sampler(options.Sampling);
        var decoder = new Utf8StreamDecoder();
        var stops = new StopStringFilter(options.Stop);
        var history = new List<int>(prompt);
        var logits = new float[model.VocabSize];
        var positions = new int[prompt.Count];
        for (int i = 0; i < positions.Length; i++) positions[i] = i;
        model.Forward(prompt is List<int> l ? System.Runtime.InteropServices.CollectionsMarshal.AsSpan(l) : prompt.ToArray(), positions, cache, logits);

        FinishReason = FinishReason.Length;
        for (int n = 0; n < options.MaxTokens; n++)
        {
            cancellation.ThrowIfCancellationRequested();
            int id = sampler.Sample(logits, history);
            if (options.StopAtEndOfGeneration && tokenizer.Vocab.IsEndOfGeneration(id))
            {
                FinishReason = FinishReason.Stop;
                break;
            }

            history.Add(id);
            string text = stops.Push(decoder.Push(tokenizer, id));
            yield return new GeneratedToken(id, text);
            if (stops.Stopped)
            {
                FinishReason = FinishReason.Stop;
                yield break;
            }

            int pos = history.Count - 1;
            if (n + 1 == options.MaxTokens || pos >= cache.Capacity) break;
            model.Forward([id], [pos], cache, logits);
        }

        string rest = stops.Push(decoder.Flush()) + stops.Flush();
        if (rest.Length > 0) yield return new GeneratedToken(-1, rest);
    }
}
