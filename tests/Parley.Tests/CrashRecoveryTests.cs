using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Parley.Inference.Tests;
using Parley.Server.Tests;

namespace Parley.Tests;

/// <summary>
/// `parley serve` as its own process, killed with SIGKILL while it streams an answer: after a
/// restart on the same data directory the user's message and the partial answer are there, the
/// answer marked interrupted.
/// </summary>
public sealed class CrashRecoveryTests : IDisposable
{
    private readonly string _data = Directory.CreateTempSubdirectory("parley-crash-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_data, recursive: true);
    }

    /// <summary>Starts the server process and waits for the line that names its address.</summary>
    private async Task<(Process Process, Uri Url)> StartServerAsync()
    {
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { Path.Combine(AppContext.BaseDirectory, "parley.dll"), "serve", "-m", TestModels.Tiny("tiny-qwen2-bpe-q8_0.gguf"), "--port", "0", "--data", _data, "-t", "1" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
        {
            int at = line.IndexOf(" at http", StringComparison.Ordinal);
            if (at >= 0) return (process, new Uri(line[(at + 4)..].Trim()));
        }

        throw new InvalidOperationException($"parley serve exited: {await process.StandardError.ReadToEndAsync()}");
    }

    /// <summary>The saved answer's status and text, read from the database file as another process sees it.</summary>
    private (string Status, string Content) Saved(string messageId)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(_data, "parley.db")};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT Status, Content FROM Messages WHERE upper(Id) = upper($id)";
        command.Parameters.AddWithValue("$id", messageId);
        using var reader = command.ExecuteReader();
        return reader.Read() ? (reader.GetString(0), reader.GetString(1)) : ("", "");
    }

    [Fact]
    public async Task AServerKilledMidAnswerKeepsTheQuestionAndThePartialAnswer()
    {
        var (server, url) = await StartServerAsync();
        string conversation, question = "", answer = "", received = "";
        try
        {
            using var client = new AppClient(url);
            await client.RegisterAsync("survivor");
            conversation = await client.NewConversationAsync();
            // Kill once the answer's first text is on disk; an answer that finishes first (fast model) is tried again.
            for (int attempt = 0; attempt < 10 && received.Length == 0; attempt++)
            {
                using var response = await client.SendAsync(HttpMethod.Post, $"api/conversations/{conversation}/messages", new { content = "Go on forever and ever" });
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                var text = new System.Text.StringBuilder();
                while (await reader.ReadLineAsync() is { } line)
                {
                    if (!line.StartsWith("data: ", StringComparison.Ordinal)) continue;
                    var e = JsonDocument.Parse(line[6..]).RootElement;
                    string type = e.GetProperty("type").GetString()!;
                    if (type == "start")
                    {
                        question = e.GetProperty("userMessage").GetProperty("id").GetString()!;
                        answer = e.GetProperty("assistantMessage").GetProperty("id").GetString()!;
                    }
                    else if (type == "delta")
                    {
                        text.Append(e.GetProperty("text").GetString());
                        if (Saved(answer) is ("Streaming", { Length: > 0 }))
                        {
                            server.Kill(); // SIGKILL: no shutdown code runs
                            await server.WaitForExitAsync();
                            received = text.ToString();
                            break;
                        }
                    }
                    else if (type == "end")
                    {
                        break;
                    }
                }
            }

            Assert.True(received.Length > 0, "every answer finished before it could be interrupted");
        }
        finally
        {
            if (!server.HasExited) server.Kill();
            server.Dispose();
        }

        (server, url) = await StartServerAsync();
        try
        {
            using var client = new AppClient(url);
            await client.LoginAsync("survivor");
            var tree = (await client.GetJsonAsync($"api/conversations/{conversation}")).GetProperty("messages").EnumerateArray().ToList();
            var user = tree.Single(m => m.GetProperty("id").GetString() == question);
            Assert.Equal("Go on forever and ever", user.GetProperty("content").GetString());
            var partial = tree.Single(m => m.GetProperty("id").GetString() == answer);
            Assert.Equal("interrupted", partial.GetProperty("status").GetString());
            string content = partial.GetProperty("content").GetString()!;
            Assert.NotEmpty(content);
            // What was saved and what the client saw are one text, each as far as it got.
            int shared = Math.Min(content.Length, received.Length);
            Assert.Equal(received[..shared], content[..shared]);
            Assert.Equal(question, partial.GetProperty("parentId").GetString());
        }
        finally
        {
            server.Kill();
            await server.WaitForExitAsync();
            server.Dispose();
        }
    }
}
