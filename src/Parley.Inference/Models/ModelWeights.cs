using Parley.Inference.Gguf;
using Parley.Inference.Models.Architectures;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>Every tensor the forward pass reads: the model's ends here, each block's from its <see cref="Architecture"/>.</summary>
public sealed unsafe class ModelWeights
{
    public required WeightMatrix TokenEmbedding { get; init; }
    public required float* OutputNorm { get; init; }
    /// <summary>The output projection; the embedding itself when the model ties them.</summary>
    public required WeightMatrix Output { get; init; }
    /// <summary>Per-dimension RoPE frequency divisors (rope_freqs.weight), or null.</summary>
    public float* RopeFreqs { get; init; }
    public required LayerWeights[] Layers { get; init; }

    public int VocabSize => TokenEmbedding.Rows;

    public static ModelWeights Load(GgufFile f, ModelConfig c, Architecture arch)
    {
        var embd = TensorReader.Matrix(f, "token_embd.weight", c.EmbeddingLength, null);
        var output = f.FindTensor("output.weight") is null ? embd : TensorReader.Matrix(f, "output.weight", c.EmbeddingLength, embd.Rows);
        var layers = new LayerWeights[c.LayerCount];
        for (int i = 0; i < layers.Length; i++) layers[i] = arch.LoadLayer(f, c, i);
        return new ModelWeights
        {
            TokenEmbedding = embd,
            OutputNorm = TensorReader.Vector(f, "output_norm.weight", c.EmbeddingLength),
            Output = output,
            RopeFreqs = TensorReader.OptionalVector(f, "rope_freqs.weight", c.RopeDims / 2),
            Layers = layers,
        };
    }
}
