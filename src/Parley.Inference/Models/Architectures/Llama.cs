using Parley.Inference.Gguf;

namespace Parley.Inference.Models.Architectures;

/// <summary>
/// Llama 2/3.x, Mistral 7B, SmolLM2 and the many fine-tunes that keep its graph: normal RoPE (with
/// Llama 3.1's per-dimension <c>rope_freqs</c> when the file has them), optional q/k/v biases.
/// </summary>
public sealed class Llama : Architecture
{
    public override string Name => "llama";
    public override bool RopeNeoX => false;
    public override LayerWeights LoadLayer(GgufFile f, ModelConfig c, int layer) => PreNormBlock(f, c, layer);
}
