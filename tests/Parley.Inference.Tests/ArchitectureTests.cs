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
}
