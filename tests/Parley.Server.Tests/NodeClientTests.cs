using System.Diagnostics;
using System.Text.Json;

namespace Parley.Server.Tests;

/// <summary>The npm 'openai' package (tests/node-client, installed by `npm ci` in test.sh) against the real server.</summary>
[Collection(ServerCollection.Name)]
public sealed class NodeClientTests(ServerFixture server)
{
    private static string ClientDir()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Parley.slnx"))) dir = dir.Parent;
        string client = Path.Combine(dir?.FullName ?? throw new InvalidOperationException("repository not found"), "tests", "node-client");
        if (!Directory.Exists(Path.Combine(client, "node_modules", "openai")))
        {
            throw new InvalidOperationException($"the npm packages are not installed: run 'npm ci --prefix {client}' (test.sh does)");
        }

        return client;
    }

    [Fact]
    public async Task NodeOpenAiPackageCompletesStreamsAndSeesErrors()
    {
        string dir = ClientDir();
        var start = new ProcessStartInfo("node", [Path.Combine(dir, "chat.mjs"), new Uri(server.Url, "v1").ToString(), ServerFixture.ModelId, "Hello from Node", "9"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = dir,
        };
        using var node = Process.Start(start)!;
        var stdout = node.StandardOutput.ReadToEndAsync();
        var stderr = node.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await node.WaitForExitAsync(timeout.Token);
        Assert.True(node.ExitCode == 0, $"node failed: {await stderr}");

        var r = JsonDocument.Parse(await stdout).RootElement;
        string expected = server.ChatAlone("Hello from Node", 9);
        Assert.Equal(expected, r.GetProperty("text").GetString());
        Assert.Equal(expected, r.GetProperty("streamed").GetString());
        Assert.Equal("length", r.GetProperty("finish").GetString());
        Assert.Equal("length", r.GetProperty("streamFinish").GetString());
        Assert.Equal(9, r.GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(r.GetProperty("chunks").GetInt32() >= 3);
        Assert.Equal(404, r.GetProperty("error").GetProperty("status").GetInt32());
        Assert.Equal("model_not_found", r.GetProperty("error").GetProperty("code").GetString());
    }
}
