using Parley.Inference.Gguf;

namespace Parley.Inference.Models.Architectures;

/// <summary>Qwen2 and Qwen2.5: the Llama block with q/k/v biases and NeoX RoPE.</summary>
public sealed class Qwen2 : Architecture
{
    public override string Name => "qwen2";
    public override bool RopeNeoX => true;
    public override LayerWeights LoadLayer(GgufFile f, ModelConfig c, int layer) => PreNormBlock(f, c, layer, qkvBias: true);
}
