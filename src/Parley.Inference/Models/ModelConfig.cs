using Parley.Inference.Gguf;
using Parley.Inference.Models.Architectures;

namespace Parley.Inference.Models;

/// <summary>Hyperparameters of a decoder model, read from its GGUF metadata under its architecture's prefix.</summary>
public sealed record ModelConfig
{
    public required string Architecture { get; init; }
    public required int EmbeddingLength { get; init; }
    public required int LayerCount { get; init; }
    public required int HeadCount { get; init; }
    public required int KvHeadCount { get; init; }
    public required int HeadDim { get; init; }
    public required int FeedForwardLength { get; init; }
    public required int ContextLength { get; init; }
    public required float RmsEpsilon { get; init; }
    public required float RopeFreqBase { get; init; }
    /// <summary>1 / linear scaling factor, as ggml's freq_scale.</summary>
    public required float RopeFreqScale { get; init; }
    public required int RopeDims { get; init; }
    /// <summary>NeoX RoPE rotates (i, i + n/2) pairs; "normal" RoPE rotates adjacent pairs.</summary>
    public required bool RopeNeoX { get; init; }

    /// <summary>Mixture-of-experts blocks: experts per layer, experts each token uses, each expert's FFN width; 0 in a dense model.</summary>
    public int ExpertCount { get; init; }
    public int ExpertUsedCount { get; init; }
    public int ExpertFeedForwardLength { get; init; }

    public int KvDim => KvHeadCount * HeadDim;
    public int QDim => HeadCount * HeadDim;

    public static ModelConfig FromGguf(GgufFile f) => FromGguf(f, ArchitectureCatalog.For(f));

    public static ModelConfig FromGguf(GgufFile f, Architecture family)
    {
        string arch = family.Name;
        int embd = Positive(f, $"{arch}.embedding_length");
        int heads = Positive(f, $"{arch}.attention.head_count");
        int kvHeads = f.GetInt($"{arch}.attention.head_count_kv", heads);
        if (kvHeads <= 0 || heads % kvHeads != 0)
        {
            throw new GgufFormatException(f.Path, $"{arch}.attention.head_count_kv", $"expected a positive divisor of head_count {heads}, found {kvHeads}");
        }

        int headDim = f.GetInt($"{arch}.attention.key_length", embd / heads);
        if (headDim <= 0 || headDim % 8 != 0)
        {
            // The attention kernels work on eight dimensions at a time; every Llama-family model qualifies.
            throw new GgufFormatException(f.Path, $"{arch}.attention.key_length", $"expected a positive multiple of 8 as the head size, found {headDim}");
        }

        int ropeDims = f.GetInt($"{arch}.rope.dimension_count", headDim);
        if (headDim <= 0 || headDim % 2 != 0 || ropeDims > headDim || ropeDims % 2 != 0)
        {
            throw new GgufFormatException(f.Path, $"{arch}.rope.dimension_count", $"expected an even number at most the head size {headDim}, found {ropeDims}");
        }

        float scale = 1f;
        string? scalingType = f.GetStringOrNull($"{arch}.rope.scaling.type");
        if (scalingType is "linear" || (scalingType is null && f.Has($"{arch}.rope.scale_linear")))
        {
            float factor = f.GetFloat($"{arch}.rope.scaling.factor", f.GetFloat($"{arch}.rope.scale_linear", 1f));
            if (factor > 0) scale = 1f / factor;
        }
        else if (scalingType is not (null or "none"))
        {
            throw new GgufFormatException(f.Path, $"{arch}.rope.scaling.type", $"expected none or linear, found \"{scalingType}\"");
        }

        int experts = f.GetInt($"{arch}.expert_count", 0), used = 0, expertFf = 0;
        if (experts < 0) throw new GgufFormatException(f.Path, $"{arch}.expert_count", $"expected a positive integer, found {experts}");
        if (experts > 0)
        {
            used = Positive(f, $"{arch}.expert_used_count");
            if (used > experts) throw new GgufFormatException(f.Path, $"{arch}.expert_used_count", $"expected at most expert_count {experts}, found {used}");
            expertFf = Positive(f, $"{arch}.expert_feed_forward_length");
        }

        return new ModelConfig
        {
            Architecture = arch,
            EmbeddingLength = embd,
            LayerCount = Positive(f, $"{arch}.block_count"),
            HeadCount = heads,
            KvHeadCount = kvHeads,
            HeadDim = headDim,
            FeedForwardLength = Positive(f, $"{arch}.feed_forward_length"),
            ContextLength = Positive(f, $"{arch}.context_length"),
            RmsEpsilon = f.GetFloat($"{arch}.attention.layer_norm_rms_epsilon", 1e-5f),
            RopeFreqBase = f.GetFloat($"{arch}.rope.freq_base", 10000f),
            RopeFreqScale = scale,
            RopeDims = ropeDims,
            RopeNeoX = family.RopeNeoX,
            ExpertCount = experts,
            ExpertUsedCount = used,
            ExpertFeedForwardLength = expertFf,
        };
    }

    private static int Positive(GgufFile f, string key)
    {
        int v = f.GetInt(key);
        if (v <= 0) throw new GgufFormatException(f.Path, key, $"expected a positive integer, found {v}");
        return v;
    }
}
