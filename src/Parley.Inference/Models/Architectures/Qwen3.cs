using Parley.Inference.Gguf;

namespace Parley.Inference.Models.Architectures;

/// <summary>
/// Qwen3 (dense): no biases; each head of q and k is RMS-normed (<c>attn_q_norm</c>, <c>attn_k_norm</c>,
/// one head wide) before NeoX RoPE. Its head size comes from <c>attention.key_length</c>, so q is
/// wider than the embedding (0.6B: 16 heads × 128 over 1024).
/// </summary>
public sealed class Qwen3 : Architecture
{
    public override string Name => "qwen3";
    public override bool RopeNeoX => true;
    public override LayerWeights LoadLayer(GgufFile f, ModelConfig c, int layer) => PreNormBlock(f, c, layer, qkNorm: true);
}
