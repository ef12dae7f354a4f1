using Parley.Inference.Gguf;
using Parley.Inference.Tensors;

namespace Parley.Inference.Models.Architectures;

/// <summary>
/// One model family as a GGUF file names it in <c>general.architecture</c> (llama.cpp keeps these in
/// <c>src/models/&lt;arch&gt;.cpp</c>): which RoPE it uses, which tensors each block has, and which model
/// runs it. The shared hyperparameters are read by <see cref="ModelConfig"/> under the family's prefix.
/// Adding a family is a file here plus its line in <see cref="ArchitectureCatalog.All"/>.
/// </summary>
public abstract unsafe class Architecture
{
    /// <summary>The <c>general.architecture</c> value, also the prefix of its metadata keys.</summary>
    public abstract string Name { get; }

    /// <summary>NeoX RoPE rotates (i, i + n/2) pairs; "normal" RoPE rotates adjacent pairs.</summary>
    public abstract bool RopeNeoX { get; }

    /// <summary>Reads block <paramref name="layer"/>'s tensors, checked for shape and type.</summary>
    public abstract LayerWeights LoadLayer(GgufFile f, ModelConfig c, int layer);

    /// <summary>The model that runs this family's forward pass.</summary>
    public virtual ILanguageModel Create(GgufFile f, int threads, KernelLevel level) => new DecoderModel(f, this, threads, level);

    /// <summary>
    /// The pre-norm block every family here shares: attention with grouped-query heads, then a
    /// SwiGLU feed-forward, dense or (<paramref name="experts"/>) a mixture of experts. Biases on q/k/v
    /// are read when present, and required with <paramref name="qkvBias"/>; <paramref name="qkNorm"/>
    /// requires the per-head RMS norms of q and k applied before RoPE.
    /// </summary>
    protected static LayerWeights PreNormBlock(GgufFile f, ModelConfig c, int layer, bool qkvBias = false, bool qkNorm = false, bool experts = false)
    {
        string p = $"blk.{layer}.";
        float* Bias(string name, int length) => qkvBias ? TensorReader.Vector(f, p + name, length) : TensorReader.OptionalVector(f, p + name, length);
        bool dense = !experts;
        return new LayerWeights
        {
            AttnNorm = TensorReader.Vector(f, p + "attn_norm.weight", c.EmbeddingLength),
            Wq = TensorReader.Matrix(f, p + "attn_q.weight", c.EmbeddingLength, c.QDim),
            Wk = TensorReader.Matrix(f, p + "attn_k.weight", c.EmbeddingLength, c.KvDim),
            Wv = TensorReader.Matrix(f, p + "attn_v.weight", c.EmbeddingLength, c.KvDim),
            Bq = Bias("attn_q.bias", c.QDim),
            Bk = Bias("attn_k.bias", c.KvDim),
            Bv = Bias("attn_v.bias", c.KvDim),
            QNorm = qkNorm ? TensorReader.Vector(f, p + "attn_q_norm.weight", c.HeadDim) : null,
            KNorm = qkNorm ? TensorReader.Vector(f, p + "attn_k_norm.weight", c.HeadDim) : null,
            Wo = TensorReader.Matrix(f, p + "attn_output.weight", c.QDim, c.EmbeddingLength),
            FfnNorm = TensorReader.Vector(f, p + "ffn_norm.weight", c.EmbeddingLength),
            WGate = dense ? TensorReader.Matrix(f, p + "ffn_gate.weight", c.EmbeddingLength, c.FeedForwardLength) : default,
            WUp = dense ? TensorReader.Matrix(f, p + "ffn_up.weight", c.EmbeddingLength, c.FeedForwardLength) : default,
            WDown = dense ? TensorReader.Matrix(f, p + "ffn_down.weight", c.FeedForwardLength, c.EmbeddingLength) : default,
            Experts = experts ? Experts(f, c, p) : null,
        };
    }

    private static ExpertWeights Experts(GgufFile f, ModelConfig c, string p)
    {
        if (c.ExpertCount == 0) throw new GgufFormatException(f.Path, $"{c.Architecture}.expert_count", "expected the number of experts of a mixture-of-experts model, it is missing");
        int d = c.EmbeddingLength, ff = c.ExpertFeedForwardLength, n = c.ExpertCount;
        return new ExpertWeights
        {
            Router = TensorReader.Matrix(f, p + "ffn_gate_inp.weight", d, n),
            Gate = TensorReader.Stack(f, p + "ffn_gate_exps.weight", d, ff, n),
            Up = TensorReader.Stack(f, p + "ffn_up_exps.weight", d, ff, n),
            Down = TensorReader.Stack(f, p + "ffn_down_exps.weight", ff, d, n),
        };
    }
}
