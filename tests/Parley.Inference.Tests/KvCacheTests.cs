using System.Text.Json;
using Parley.Inference.Models;
using Parley.Inference.Sampling;
using Parley.Inference.Tensors;
using Xunit.Abstractions;

namespace Parley.Inference.Tests;

/// <summary>
/// The cache's storage types (--cache-type-k/-v): F16 takes half the memory of F32, Q8_0 a little over
/// a quarter; a model run on a Q8_0 cache stays close to the same run on F16; heads that Q8_0 cannot
/// cut into whole blocks are refused with one clear message.
/// </summary>
public class KvCacheTests(ITestOutputHelper output)
{
    [Fact]
    public void BlocksTakeTheBytesOfTheirTypes()
    {
        var c = ModelConfig.FromGguf(Gguf.GgufFile.Open(TestModels.Tiny("tiny-llama-spm-q8_0.gguf")));
        long values = (long)PagedKvCache.BlockSize * c.KvDim * c.LayerCount; // keys, and as many values
        Assert.Equal(2 * values * sizeof(ushort), PagedKvCache.BlockBytes(c, KvCacheTypes.Default));
        Assert.Equal(2 * (values + values / 32 * sizeof(float)), PagedKvCache.BlockBytes(c, new KvCacheTypes(GgmlType.Q8_0, GgmlType.Q8_0)));
        Assert.Equal(values * sizeof(ushort) + values + values / 32 * sizeof(float), PagedKvCache.BlockBytes(c, new KvCacheTypes(GgmlType.F16, GgmlType.Q8_0)));
        using var cache = new PagedKvCache(c, 10);
        Assert.Equal(160, cache.Tokens);
        Assert.Equal(10 * PagedKvCache.BlockBytes(c, KvCacheTypes.Default), cache.Bytes);
        Assert.StartsWith("160 tokens, K f16, V f16, ", cache.Describe());
    }

    [Theory]
    [InlineData(GgmlType.Q8_0, GgmlType.Q8_0)]
    [InlineData(GgmlType.Q8_0, GgmlType.F16)]
    [InlineData(GgmlType.F16, GgmlType.Q8_0)]
    public void AQ8CacheStaysCloseToF16(GgmlType keys, GgmlType values)
    {
        // A reference run's prompt and tokens, teacher-forced through both caches.
        var doc = JsonDocument.Parse(File.ReadAllText(TestModels.Reference("generate", "tiny-llama-spm-q8_0.p1.json"))).RootElement;
        var prompt = doc.GetProperty("prompt_tokens").EnumerateArray().Select(e => e.GetInt32()).ToArray();
        var tokens = doc.GetProperty("steps").EnumerateArray().Select(s => s.GetProperty("token").GetInt32()).ToArray();
        using var llm = LanguageModel.Load(TestModels.Tiny("tiny-llama-spm-q8_0.gguf"), threads: 2);
        using var f16 = llm.CreateCache();
        using var q8 = llm.CreateCache(0, new KvCacheTypes(keys, values));
        var expected = new float[llm.VocabSize];
        var got = new float[llm.VocabSize];
        llm.Forward(prompt, 0, f16, expected);
        llm.Forward(prompt, 0, q8, got);
        double worst = 0, changed = 0;
        for (int step = 0; step < tokens.Length; step++)
        {
            var top = Enumerable.Range(0, expected.Length).OrderByDescending(i => expected[i]).Take(5).ToArray();
            foreach (int id in top) worst = Math.Max(worst, Math.Abs(got[id] - expected[id]));
            if (expected[top[0]] - expected[top[1]] > 2 * Bound) Assert.Equal(top[0], Sampler.ArgMax(got));
            changed += expected.Zip(got).Any(p => p.First != p.Second) ? 1 : 0;
            llm.Forward([tokens[step]], prompt.Length + step, f16, expected);
            llm.Forward([tokens[step]], prompt.Length + step, q8, got);
        }

        output.WriteLine($"K {keys}, V {values}: worst top-5 logit difference from the F16 cache {worst:G3}");
        Assert.True(worst < Bound, $"worst top-5 logit difference {worst} (bound {Bound})");
        Assert.True(changed > tokens.Length / 2, "the Q8_0 cache gave the F16 cache's logits: it is not in use");
    }

    [Fact]
    public void Q8NeedsHeadsOfWholeBlocks()
    {
        using var llm = LanguageModel.Load(TestModels.Tiny("tiny-qwen2-bpe-q8_0.gguf"), threads: 1); // heads of 16
        var e = Assert.Throws<NotSupportedException>(() => llm.CreateCache(64, new KvCacheTypes(GgmlType.F16, GgmlType.Q8_0)));
        Assert.Equal("a q8_0 cache of values needs a head size that is a multiple of 32; this model's heads have 16: use f16", e.Message);
    }

    /// <summary>
    /// Q8_0's rounding of keys and values, with room: measured worst 0.71 (keys), 0.56 (values), 0.73
    /// (both) on logits near 30 (see the test output): these random weights make large activations,
    /// and a value's rounding error is up to 1/254 of its block's largest.
    /// </summary>
    private const double Bound = 1.0;
}
