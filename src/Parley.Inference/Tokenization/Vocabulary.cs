using Parley.Inference.Gguf;

namespace Parley.Inference.Tokenization;

/// <summary>The tokenizer half of a GGUF file: tokens, scores, types, merges and special ids.</summary>
public sealed class Vocabulary
{
    public const int NoToken = -1;

    /// <summary>Texts llama.cpp treats as end-of-generation when the file does not list them.</summary>
    private static readonly string[] EndOfGenerationTexts =
    [
        "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<EOT>", "_<EOT>",
        "<｜end▁of▁sentence｜>", "<|end_of_text|>", "<|return|>", "<|call|>", "<|eom_id|>",
    ];

    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);

    public Vocabulary(GgufFile f)
    {
        Model = f.GetStringOrNull("tokenizer.ggml.model") ?? "llama";
        Pre = f.GetStringOrNull("tokenizer.ggml.pre") ?? "default";
        if (Model is not ("llama" or "gpt2"))
        {
            throw new GgufFormatException(f.Path, "tokenizer.ggml.model", $"expected \"llama\" (SentencePiece) or \"gpt2\" (byte-level BPE), found \"{Model}\"");
        }

        Tokens = f.GetArray("tokenizer.ggml.tokens").Items as string[]
            ?? throw new GgufFormatException(f.Path, "tokenizer.ggml.tokens", "expected an array of strings");
        int n = Tokens.Length;
        Scores = Optional<float>(f, "tokenizer.ggml.scores", n) ?? new float[n];
        var types = Optional<int>(f, "tokenizer.ggml.token_type", n);
        Types = new TokenType[n];
        for (int i = 0; i < n; i++)
        {
            Types[i] = types is null ? TokenType.Normal : (TokenType)types[i];
            _ids[Tokens[i]] = i; // a duplicate text maps to its last id, as in llama.cpp
        }

        if (Model == "gpt2")
        {
            var merges = f.GetArray("tokenizer.ggml.merges").Items as string[]
                ?? throw new GgufFormatException(f.Path, "tokenizer.ggml.merges", "expected an array of strings");
            Merges = merges;
        }

        bool isSpm = Model == "llama";
        AddBos = f.GetBool("tokenizer.ggml.add_bos_token", isSpm || Pre is "llama3" or "llama-v3" or "llama-bpe");
        AddEos = f.GetBool("tokenizer.ggml.add_eos_token", false);
        AddSpacePrefix = f.GetBool("tokenizer.ggml.add_space_prefix", isSpm);
        Bos = SpecialId(f, "tokenizer.ggml.bos_token_id", isSpm ? 1 : NoToken);
        Eos = SpecialId(f, "tokenizer.ggml.eos_token_id", isSpm ? 2 : NoToken);
        Eot = SpecialId(f, "tokenizer.ggml.eot_token_id", NoToken);
        Unknown = SpecialId(f, "tokenizer.ggml.unknown_token_id", isSpm ? 0 : NoToken);
        Padding = SpecialId(f, "tokenizer.ggml.padding_token_id", NoToken);

        var eog = new HashSet<int>();
        if (Eos != NoToken) eog.Add(Eos);
        if (Eot != NoToken) eog.Add(Eot);
        foreach (var t in EndOfGenerationTexts)
        {
            if (_ids.TryGetValue(t, out int id) && Types[id] is TokenType.Control or TokenType.UserDefined) eog.Add(id);
        }

        EndOfGeneration = eog;
    }

    public string Model { get; }
    public string Pre { get; }
    public string[] Tokens { get; }
    public float[] Scores { get; }
    public TokenType[] Types { get; }
    public string[]? Merges { get; }
    public bool AddBos { get; }
    public bool AddEos { get; }
    public bool AddSpacePrefix { get; }
    public int Bos { get; }
    public int Eos { get; }
    public int Eot { get; }
    public int Unknown { get; }
    public int Padding { get; }
    public IReadOnlySet<int> EndOfGeneration { get; }
    public int Count => Tokens.Length;

    public int Find(string text) => _ids.TryGetValue(text, out int id) ? id : NoToken;

    /// <summary>Text-to-id look-up by span, for the encoders' substring probes.</summary>
    internal Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> SpanLookup => _ids.GetAlternateLookup<ReadOnlySpan<char>>();

    public bool IsEndOfGeneration(int id) => EndOfGeneration.Contains(id);

    private static T[]? Optional<T>(GgufFile f, string key, int n)
    {
        var a = f.GetArrayOrNull(key);
        if (a is null) return null;
        if (a.Items is not T[] items || items.Length != n)
        {
            throw new GgufFormatException(f.Path, key, $"expected {n} values of type {typeof(T).Name}, found {a.Count} of {a.ElementType}");
        }

        return items;
    }

    private int SpecialId(GgufFile f, string key, int fallback)
    {
        int? id = f.TryGetInt(key);
        if (id is null) return fallback < Count ? fallback : NoToken;
        if (id.Value >= Count) throw new GgufFormatException(f.Path, key, $"expected a token id below {Count}, found {id}");
        return id.Value;
    }
}
