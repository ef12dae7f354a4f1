using Parley.Inference.Gguf;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models;

/// <summary>
/// Every tensor the forward pass reads, looked up by llama.cpp's names and checked for shape and
/// type, so a malformed file fails at load with the tensor's name rather than mid-generation.
/// </summary>
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

    public static ModelWeights Load(GgufFile f, ModelConfig c)
    {
        var embd = Matrix(f, "token_embd.weight", c.EmbeddingLength, null);
        var output = f.FindTensor("output.weight") is null ? embd : Matrix(f, "output.weight", c.EmbeddingLength, embd.Rows);
        var layers = new LayerWeights[c.LayerCount];
        bool bias = c.Architecture == "qwen2";
        for (int i = 0; i < layers.Length; i++)
        {
            string p = $"blk.{i}.";
            layers[i] = new LayerWeights
            {
                AttnNorm = Vector(f, p + "attn_norm.weight", c.EmbeddingLength),
                Wq = Matrix(f, p + "attn_q.weight", c.EmbeddingLength, c.QDim),
                Wk = Matrix(f, p + "attn_k.weight", c.EmbeddingLength, c.KvDim),
                Wv = Matrix(f, p + "attn_v.weight", c.EmbeddingLength, c.KvDim),
                Bq = bias ? Vector(f, p + "attn_q.bias", c.QDim) : OptionalVector(f, p + "attn_q.bias", c.QDim),
                Bk = bias ? Vector(f, p + "attn_k.bias", c.KvDim) : OptionalVector(f, p + "attn_k.bias", c.KvDim),
                Bv = bias ? Vector(f, p + "attn_v.bias", c.KvDim) : OptionalVector(f, p + "attn_v.bias", c.KvDim),
                Wo = Matrix(f, p + "attn_output.weight", c.QDim, c.EmbeddingLength),
                FfnNorm = Vector(f, p + "ffn_norm.weight", c.EmbeddingLength),
                WGate = Matrix(f, p + "ffn_gate.weight", c.EmbeddingLength, c.FeedForwardLength),
                WUp = Matrix(f, p + "ffn_up.weight", c.EmbeddingLength, c.FeedForwardLength),
                WDown = Matrix(f, p + "ffn_down.weight", c.FeedForwardLength, c.EmbeddingLength),
            };
        }

        return new ModelWeights
        {
            TokenEmbedding = embd,
            OutputNorm = Vector(f, "output_norm.weight", c.EmbeddingLength),
            Output = output,
            RopeFreqs = OptionalVector(f, "rope_freqs.weight", c.RopeDims / 2),
            Layers = layers,
        };
    }

    private static WeightMatrix Matrix(GgufFile f, string name, int cols, int? rows)
    {
        var t = f.GetTensor(name);
        if (t.Dimensions.Length != 2 || t.Dimensions[0] != cols || (rows is int r && t.Dimensions[1] != r))
        {
            throw new GgufFormatException(f.Path, $"tensor[{name}].dims",
                $"expected [{cols}, {(rows?.ToString() ?? "n")}], found [{string.Join(", ", t.Dimensions)}]");
        }

        if (t.Dimensions[1] > int.MaxValue) throw new GgufFormatException(f.Path, $"tensor[{name}].dims", "expected fewer than 2^31 rows");
        ActivationLayout.For(t.Type); // throws for types without a product
        return WeightMatrix.From(f, t);
    }

    private static float* Vector(GgufFile f, string name, int length)
    {
        f.GetTensor(name); // throws, naming the tensor, when it is missing
        return OptionalVector(f, name, length);
    }

    private static float* OptionalVector(GgufFile f, string name, int length)
    {
        var t = f.FindTensor(name);
        if (t is null) return null;
        if (t.Type != GgmlType.F32 || t.ElementCount != length)
        {
            throw new GgufFormatException(f.Path, $"tensor[{name}]", $"expected F32 of {length} elements, found {t.Type} of {t.ElementCount}");
        }

        return (float*)f.DataPointer(t);
    }
}
