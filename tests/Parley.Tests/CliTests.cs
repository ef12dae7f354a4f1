using System.Text.Json;
using Parley.Inference.Tests;
using Parley.Server;

namespace Parley.Tests;

/// <summary>The `parley` command line: the model store commands, their errors, and the serving benchmark against a real server.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _store = Directory.CreateTempSubdirectory("parley-cli-").FullName;

    public CliTests() => Environment.SetEnvironmentVariable("PARLEY_MODELS", _store);

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("PARLEY_MODELS", null);
        Directory.Delete(_store, recursive: true);
    }

    private static (int Code, string Out, string Err) Run(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = Program.Run(args, stdout, stderr);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public void ModelsListsTheStoreWithTheDefaultFirst()
    {
        var (code, output, _) = Run("models");
        Assert.Equal(0, code);
        Assert.Contains("empty", output);

        File.Copy(TestModels.Tiny("tiny-qwen2-bpe-q8_0.gguf"), Path.Combine(_store, "b-model.gguf"));
        File.Copy(TestModels.Tiny("tiny-llama-spm-q4_0.gguf"), Path.Combine(_store, "a-model.gguf"));
        File.WriteAllText(Path.Combine(_store, "c-model.gguf.partial"), "GGUF");
        (code, output, _) = Run("models");
        Assert.Equal(0, code);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(3, lines.Length);
        Assert.Contains("a-model", lines[1]);
        Assert.Contains("(default)", lines[1]);
        Assert.Contains("b-model", lines[2]);
    }

    [Fact]
    public void StoreCommandsFailWithOneClearLine()
    {
        var (code, _, err) = Run("serve");
        Assert.Equal(2, code);
        Assert.StartsWith("parley: no models in", err);
        Assert.Single(err.Trim().Split('\n'));

        (code, _, err) = Run("serve", "-m", "not-a-model");
        Assert.Equal(2, code);
        Assert.Contains("model not found", err);

        (code, _, err) = Run("pull", "owner/repo/file.bin");
        Assert.Equal(1, code);
        Assert.StartsWith("parley: expected hf:OWNER/REPO/FILE.gguf", err);
        Assert.Single(err.Trim().Split('\n'));
    }

    [Fact]
    public void BenchDecodesSeveralSequencesTogether()
    {
        var (code, output, err) = Run("bench", "-m", TestModels.Tiny("tiny-llama-spm-q8_0.gguf"), "-p", "0", "-n", "8", "-r", "2", "--sequences", "4", "--json");
        Assert.True(code == 0, err + output);
        var row = Assert.Single(JsonDocument.Parse(output).RootElement.EnumerateArray());
        Assert.Equal(4, row.GetProperty("n_sequences").GetInt32());
        Assert.Equal(8, row.GetProperty("n_gen").GetInt32());
        Assert.True(row.GetProperty("avg_ts").GetDouble() > 0);

        (code, _, err) = Run("bench", "-m", TestModels.Tiny("tiny-llama-spm-q8_0.gguf"), "--sequences", "0");
        Assert.Equal(2, code);
        Assert.Contains("--sequences", err);
    }

    [Fact]
    public void CacheTypesAndSizeAreCheckedAtStart()
    {
        string q8 = TestModels.Tiny("tiny-llama-spm-q8_0.gguf"); // heads of 32
        var (code, output, err) = Run("bench", "-m", q8, "-p", "32", "-n", "4", "-r", "1", "-ctk", "q8_0", "--cache-type-v", "q8_0", "--json");
        Assert.True(code == 0, err + output);
        var row = Assert.Single(JsonDocument.Parse(output).RootElement.EnumerateArray(), r => r.GetProperty("n_prompt").GetInt32() == 32);
        // The cache is sized for 32 positions: 2 blocks of 16, keys and values of 2 layers at 36 bytes per 32 values.
        Assert.Equal(2 * 2 * (16 * 128 * 2) * 36 / 32, row.GetProperty("kv_cache_bytes").GetInt64());

        (code, _, err) = Run("bench", "-m", TestModels.Tiny("tiny-qwen2-bpe-q8_0.gguf"), "-ctv", "q8_0");
        Assert.Equal(1, code);
        Assert.Equal("parley: a q8_0 cache of values needs a head size that is a multiple of 32; this model's heads have 16: use f16", err.Trim());

        (code, _, err) = Run("bench", "-m", q8, "-ctk", "q4_0");
        Assert.Equal(2, code);
        Assert.Contains("option --cache-type-k expects one of f16, q8_0, got 'q4_0'", err);

        (code, _, err) = Run("serve", "-m", q8, "--ctx-size", "4096", "--kv-cache-mb", "64");
        Assert.Equal(2, code);
        Assert.Contains("--ctx-size (tokens) or --kv-cache-mb", err);
    }

    [Fact]
    public async Task BenchServeMeasuresARealServer()
    {
        var app = ParleyServer.Build(new ServerOptions { Port = 0, Threads = 2, Models = [TestModels.Tiny("tiny-llama-spm-q8_0.gguf")], DataDirectory = _store });
        await app.StartAsync();
        try
        {
            string url = ParleyServer.Address(app).ToString();
            var (code, output, err) = await Task.Run(() =>
                Run("bench", "serve", "--url", url, "--concurrency", "3", "--requests", "6", "--prompt-tokens", "16", "--output-tokens", "8", "--warmup", "0.2", "--json"));
            Assert.True(code == 0, err + output);
            var r = JsonDocument.Parse(output).RootElement;
            Assert.Equal(0, r.GetProperty("failed").GetInt32());
            Assert.Equal(6, r.GetProperty("completed").GetInt32()); // warm-up requests are not counted
            Assert.True(r.GetProperty("warmup_requests").GetInt32() >= 3);
            Assert.True(r.GetProperty("output_tokens_per_second").GetDouble() > 0);
            Assert.True(r.GetProperty("request_throughput").GetDouble() > 0);
            foreach (var p in new[] { "p50", "p90", "p99" })
            {
                Assert.True(r.GetProperty("ttft_ms").GetProperty(p).GetDouble() > 0);
                Assert.True(r.GetProperty("itl_ms").TryGetProperty(p, out _));
            }

            Assert.True(r.GetProperty("ttft_ms").GetProperty("p50").GetDouble() <= r.GetProperty("ttft_ms").GetProperty("p99").GetDouble());

            (code, _, err) = Run("bench", "serve", "--url", url, "--warmup", "-1");
            Assert.Equal(2, code);
            Assert.Contains("--warmup", err);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}
