using Parley.Inference.Gguf;
using Parley.Inference.Tensors;

namespace Parley.Inference.Tests;

public class GgufReaderTests
{
    [Fact]
    public void ReadsEveryTestModel()
    {
        foreach (var path in TestModels.TinyModels())
        {
            using var f = GgufFile.Open(path);
            Assert.Equal(3u, f.Version);
            Assert.Equal(32, f.Alignment);
            Assert.Contains(f.GetString("general.architecture"), new[] { "llama", "qwen2" });
            Assert.Equal(1024, f.GetInt(f.GetString("general.architecture") + ".context_length"));
            var tokens = f.GetArray("tokenizer.ggml.tokens");
            Assert.Equal(GgufValueType.String, tokens.ElementType);
            Assert.True(tokens.Count >= 32000);
            var embd = f.GetTensor("token_embd.weight");
            Assert.Equal(tokens.Count, embd.Dimensions[1]);
            long end = 0;
            foreach (var t in f.Tensors) end = Math.Max(end, f.DataOffset + t.Offset + t.ByteSize);
            Assert.True(end <= f.FileSize);
        }
    }

    [Fact]
    public void TensorTypesMatchTheFileNames()
    {
        using var q4 = GgufFile.Open(TestModels.Tiny("tiny-llama-spm-q4_0.gguf"));
        Assert.Equal(GgmlType.Q4_0, q4.GetTensor("blk.0.attn_q.weight").Type);
        Assert.Equal(GgmlType.F32, q4.GetTensor("blk.0.attn_norm.weight").Type);
        Assert.Equal([256L, 128L], q4.GetTensor("blk.0.attn_k.weight").Dimensions);
        using var km = GgufFile.Open(TestModels.Tiny("tiny-llama-spm-q4_k_m.gguf"));
        Assert.Equal(GgmlType.Q4_K, km.GetTensor("blk.0.attn_q.weight").Type);
        Assert.Equal(GgmlType.Q6_K, km.GetTensor("output.weight").Type);
        using var f16 = GgufFile.Open(TestModels.Tiny("tiny-qwen2-bpe-f16.gguf"));
        Assert.Equal(GgmlType.F16, f16.GetTensor("token_embd.weight").Type);
        Assert.Null(f16.FindTensor("output.weight"));
    }

    [Fact]
    public void MissingFileIsFileNotFound()
    {
        Assert.Throws<FileNotFoundException>(() => GgufFile.Open(Path.Combine(Path.GetTempPath(), "parley-no-such-file.gguf")));
    }

    [Theory]
    [InlineData(new byte[] { 0x67, 0x67, 0x6d, 0x6c, 3, 0, 0, 0 }, "magic")]
    [InlineData(new byte[] { 0x47, 0x47, 0x55, 0x47, 3, 0, 0, 0 }, "magic")]
    public void WrongMagicNamesTheField(byte[] start, string field)
    {
        string path = WriteTemp([.. start, .. new byte[40]]);
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path));
        Assert.Equal(field, e.Field);
        Assert.Contains(Path.GetFileName(path), e.Message);
    }

    [Fact]
    public void UnsupportedVersionIsRefused()
    {
        var bytes = File.ReadAllBytes(TestModels.Vocab("phi-3"));
        bytes[4] = 7;
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(WriteTemp(bytes)));
        Assert.Equal("version", e.Field);
        Assert.Contains("expected 2 or 3, found 7", e.Message);
    }

    [Fact]
    public void HugeCountsAreRefusedWithoutAllocating()
    {
        var bytes = File.ReadAllBytes(TestModels.Vocab("phi-3"));
        BitConverter.TryWriteBytes(bytes.AsSpan(16, 8), long.MaxValue); // metadata_kv_count
        var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(WriteTemp(bytes)));
        Assert.Equal("metadata_kv_count", e.Field);
    }

    /// <summary>
    /// Truncations and byte corruptions of real files at hundreds of deterministic offsets: the
    /// reader either accepts the file or raises GgufFormatException, never anything else, and
    /// every truncation is detected.
    /// </summary>
    [Fact]
    public void TruncatedAndCorruptFilesRaiseOnlyFormatErrors()
    {
        var rng = new Random(20261124);
        var sources = new[] { TestModels.Vocab("phi-3"), TestModels.Vocab("gpt-2"), TestModels.Tiny("tiny-llama-spm-q4_k_m.gguf"), TestModels.Tiny("tiny-qwen2-bpe-q8_0.gguf") };
        int cases = 0, rejected = 0;
        string dir = Directory.CreateTempSubdirectory("parley-gguf-").FullName;
        try
        {
            foreach (var src in sources)
            {
                var bytes = File.ReadAllBytes(src);
                long header;
                using (var ok = GgufFile.Open(src)) header = Math.Min(ok.DataOffset, bytes.Length - 1);
                string path = Path.Combine(dir, Path.GetFileName(src));

                for (int i = 0; i < 60; i++)
                {
                    long cut = i < 50 ? rng.NextInt64(0, header + 1) : rng.NextInt64(header, bytes.Length);
                    WriteSparse(path, bytes, (int)Math.Min(cut, header), cut);
                    var e = Assert.Throws<GgufFormatException>(() => GgufFile.Open(path).Dispose());
                    Assert.Contains(Path.GetFileName(path), e.Message);
                    cases++;
                    rejected++;
                }

                for (int i = 0; i < 60; i++)
                {
                    var copy = bytes.AsSpan(0, (int)header).ToArray();
                    int flips = rng.Next(1, 4);
                    for (int f = 0; f < flips; f++)
                    {
                        // Bias towards the structural fields: the fixed header and the tensor infos at the end.
                        int at = rng.Next(4) switch
                        {
                            0 => rng.Next(0, Math.Min(64, copy.Length)),
                            1 => rng.Next(Math.Max(0, copy.Length - 4096), copy.Length),
                            _ => rng.Next(0, copy.Length),
                        };
                        copy[at] = (byte)rng.Next(256);
                    }

                    WriteSparse(path, copy, copy.Length, bytes.Length);
                    try
                    {
                        GgufFile.Open(path).Dispose();
                    }
                    catch (GgufFormatException e)
                    {
                        Assert.Contains(Path.GetFileName(path), e.Message);
                        rejected++;
                    }

                    cases++;
                }
            }
        }
        finally
        {
            Directory.Delete(dir, true);
        }

        Assert.Equal(480, cases);
        Assert.True(rejected > 300, $"only {rejected} of {cases} corrupt files were rejected");
    }

    /// <summary>Writes <paramref name="count"/> bytes of <paramref name="bytes"/> and extends the file to <paramref name="length"/> with zeros.</summary>
    private static void WriteSparse(string path, byte[] bytes, int count, long length)
    {
        using var fs = new FileStream(path, FileMode.Create, FileAccess.Write);
        fs.Write(bytes, 0, count);
        fs.SetLength(length);
    }

    private static string WriteTemp(byte[] bytes)
    {
        string path = Path.Combine(Path.GetTempPath(), $"parley-test-{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, bytes);
        return path;
    }
}
