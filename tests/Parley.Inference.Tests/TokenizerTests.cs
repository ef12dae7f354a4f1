using System.Text;
using System.Text.Json;
using Parley.Inference.Gguf;
using Parley.Inference.Tokenization;

namespace Parley.Inference.Tests;

public class TokenizerTests
{
    public static TheoryData<string> VocabNames => ["llama-spm", "llama-bpe", "qwen2", "phi-3", "gpt-2"];

    /// <summary>Every line of llama.cpp's own tokenizer test vectors, ids identical (no BOS, specials not parsed).</summary>
    [Theory]
    [MemberData(nameof(VocabNames))]
    public void ReproducesLlamaCppTestVectors(string name)
    {
        string path = TestModels.Vocab(name);
        using var f = GgufFile.Open(path);
        var tokenizer = Tokenizer.FromGguf(f);
        var inputs = File.ReadAllText(path + ".inp").Split("\n__ggml_vocab_test__\n");
        var expected = File.ReadAllText(path + ".out").Split('\n');
        int n = inputs.Length - 1; // the file ends with a separator
        Assert.True(n >= 40);
        var failures = new List<string>();
        for (int i = 0; i < n; i++)
        {
            string got = string.Join(" ", tokenizer.Encode(inputs[i], addSpecial: false, parseSpecial: false));
            if (got != expected[i].Trim()) failures.Add($"{JsonSerializer.Serialize(inputs[i])}: expected [{expected[i].Trim()}], got [{got}]");
        }

        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void PromptIdsMatchTheReferenceRuns()
    {
        foreach (var file in Directory.GetFiles(TestModels.Reference("generate"), "*.json"))
        {
            var doc = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
            using var f = GgufFile.Open(TestModels.Tiny(doc.GetProperty("model").GetString()!));
            var tokenizer = Tokenizer.FromGguf(f);
            var expected = doc.GetProperty("prompt_tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
            Assert.Equal(doc.GetProperty("add_bos").GetBoolean(), tokenizer.Vocab.AddBos);
            Assert.Equal(expected, tokenizer.Encode(doc.GetProperty("prompt").GetString()!));
        }
    }

    [Theory]
    [MemberData(nameof(VocabNames))]
    public void DecodingRoundTripsText(string name)
    {
        using var f = GgufFile.Open(TestModels.Vocab(name));
        var tokenizer = Tokenizer.FromGguf(f);
        const string text = "Hello, world! ünïcødé 🙂 — \"quotes\"\ttabs\nnewline 1234";
        var ids = tokenizer.Encode(text, addSpecial: false);
        string decoded = tokenizer.Decode(ids);
        Assert.Equal(text, tokenizer.Vocab.AddSpacePrefix ? decoded[1..] : decoded);
    }

    [Fact]
    public void SpecialTokensAreParsedOnlyWhenAsked()
    {
        using var f = GgufFile.Open(TestModels.Vocab("qwen2"));
        var tokenizer = Tokenizer.FromGguf(f);
        int imStart = tokenizer.Vocab.Find("<|im_start|>");
        Assert.Equal([imStart, 872], tokenizer.Encode("<|im_start|>user", addSpecial: false, parseSpecial: true));
        Assert.DoesNotContain(imStart, tokenizer.Encode("<|im_start|>user", addSpecial: false, parseSpecial: false));
        Assert.Contains(tokenizer.Vocab.Find("<|im_end|>"), tokenizer.Vocab.EndOfGeneration);
    }

    /// <summary>A character split across byte tokens is emitted whole, once its last byte arrives.</summary>
    [Fact]
    public void StreamingNeverEmitsBrokenCharacters()
    {
        using var f = GgufFile.Open(TestModels.Vocab("llama-spm"));
        var tokenizer = Tokenizer.FromGguf(f);
        var ids = tokenizer.Encode("a🦙b", addSpecial: false); // the llama emoji falls back to 4 byte tokens
        Assert.True(ids.Count >= 6);
        var decoder = new Utf8StreamDecoder();
        var pieces = ids.Select(id => decoder.Push(tokenizer, id)).ToList();
        Assert.All(pieces, p => Assert.DoesNotContain('\uFFFD', p));
        Assert.Equal(" a🦙b", string.Concat(pieces));
        Assert.Contains("🦙", pieces);
        Assert.Equal(3, pieces.Count(p => p.Length == 0));
    }

    [Fact]
    public void StreamDecoderFlushesAnIncompleteTailAsReplacement()
    {
        var decoder = new Utf8StreamDecoder();
        Assert.Equal("", decoder.Push(Encoding.UTF8.GetBytes("🙂").AsSpan(0, 2), flush: false));
        Assert.Equal("\uFFFD", decoder.Flush());
    }
}
