using System.Text;
using Parley.Inference.Gguf;
using Parley.Inference.Models;
using Parley.Inference.Models.Architectures;

namespace Parley.Inference.Tests;

/// <summary>The model seam: a file's architecture picks its definition, and what it lacks fails at load, by name.</summary>
public class ArchitectureTests
{
    private static string Arch(string file) => Path.Combine(TestModels.Root, "arch", file);

    [Fact]
    public void UnsupportedArchitectureNamesTheFileTheFieldAndWhatIsSupported()
    {
        var e = Assert.Throws<GgufFormatException>(() => LanguageModel.Load(Arch("arch-gemma2-q8_0.gguf"), threads: 1));
        Assert.Equal("general.architecture", e.Field);
        Assert.Contains("arch-gemma2-q8_0.gguf", e.Message);
        Assert.Contains("found \"gemma2\"", e.Message);
        foreach (var a in ArchitectureCatalog.All) Assert.Contains(a.Name, e.Message);
    }

    [Fact]
    public void Qwen3ReadsItsHeadSizeAndPerHeadNorms()
    {
        using var llm = LanguageModel.Load(Arch("arch-qwen3-q8_0.gguf"), threads: 1);
        Assert.Equal("qwen3", llm.Config.Architecture);
        Assert.True(llm.Config.RopeNeoX);
        Assert.Equal(32, llm.Config.HeadDim);
        Assert.Equal(128, llm.Config.QDim); // 4 heads of 32 over an embedding of 64
        Assert.Equal(64, llm.Config.EmbeddingLength);
    }

    [Fact]
    public void AMissingTensorOfTheArchitectureIsNamed()
    {
        // Renaming blk.1's q norm (same length, so the file stays well-formed) leaves qwen3's block without it.
        var bytes = File.ReadAllBytes(Arch("arch-qwen3-q8_0.gguf"));
        var name = Encoding.ASCII.GetBytes("blk.1.attn_q_norm.weight");
        int at = bytes.AsSpan().IndexOf(name);
        Assert.True(at > 0);
        bytes[at + 11] = (byte)'x';
        string path = Path.Combine(Path.GetTempPath(), $"parley-test-{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, bytes);
        try
        {
            var e = Assert.Throws<GgufFormatException>(() => LanguageModel.Load(path, threads: 1));
            Assert.Equal("tensor[blk.1.attn_q_norm.weight]", e.Field);
            Assert.Contains(Path.GetFileName(path), e.Message);
        }
        finally
        {
            File.Delete(path);
        }
    }

    /// <summary>
    /// Tokens routed to the same expert go through it together, so a token's numbers must not depend
    /// on which others share its experts: three prompts and a decode step run batched give exactly
    /// the logits each gives alone.
    /// </summary>
    [Fact]
    public void ExpertBatchesGiveEachSequenceItsOwnLogits()
    {
        using var llm = LanguageModel.Load(Arch("arch-qwen3moe-q8_0.gguf"), threads: 2);
        int vocab = llm.VocabSize;
        int[][] prompts = [[1, 9038, 2501, 263, 931], [1, 450, 7483, 310, 3444, 338, 263, 1781, 29889], [1, 29871, 29896, 29892, 29871, 29906, 29892]];
        var alone = new List<(float[] Prefill, float[] Decode)>();
        foreach (var p in prompts)
        {
            using var cache = llm.CreateCache(64);
            var prefill = new float[vocab];
            var decode = new float[vocab];
            llm.Forward(p, 0, cache, prefill);
            llm.Forward([p[^1]], p.Length, cache, decode);
            alone.Add((prefill, decode));
        }

        using var paged = new PagedKvCache(llm.Config, 3 * 4);
        var tables = prompts.Select((_, i) => { var t = new BlockTable(); for (int b = 0; b < 4; b++) t.Add(4 * i + b); return t; }).ToArray();
        var batch = new ForwardBatch();
        var logits = new float[prompts.Length * vocab];
        for (int i = 0; i < prompts.Length; i++) batch.Add(prompts[i], 0, tables[i], logits: true);
        llm.Forward(batch, paged, logits);
        for (int i = 0; i < prompts.Length; i++) Assert.True(alone[i].Prefill.AsSpan().SequenceEqual(logits.AsSpan(i * vocab, vocab)), $"prompt {i}'s prefill differs batched");

        batch.Clear();
        for (int i = 0; i < prompts.Length; i++) batch.Add([prompts[i][^1]], prompts[i].Length, tables[i], logits: true);
        llm.Forward(batch, paged, logits);
        for (int i = 0; i < prompts.Length; i++) Assert.True(alone[i].Decode.AsSpan().SequenceEqual(logits.AsSpan(i * vocab, vocab)), $"prompt {i}'s decode step differs batched");
    }
}
