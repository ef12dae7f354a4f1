using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Parley.Inference.Generation;
using Parley.Inference.Models;
using Parley.Inference.Sampling;
using Parley.Inference.Serving;
using Parley.Inference.Tests;
using Parley.Server.Hosting;
using Parley.Server.OpenAi;

namespace Parley.Server.Tests;

/// <summary>
/// A real Parley server on 127.0.0.1 (Kestrel, port chosen by the OS) serving the tiny Qwen2 model,
/// which ships a chat template; plus a second, private copy of the engine that computes what a
/// request gives alone, to compare the server's answers with.
/// </summary>
public sealed class ServerFixture : IAsyncLifetime
{
    public const string ModelId = "tiny-qwen2-bpe-q8_0";
    public const long BodyLimit = 64 * 1024;

    private ILanguageModel? _reference;

    public WebApplication App { get; private set; } = null!;
    public Uri Url { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public LoadedModel Model => App.Services.GetRequiredService<ModelRegistry>().Get(ModelId)!;

    /// <summary>A server of its own with a fresh data directory (deleted when it stops); <paramref name="configure"/> adjusts the options.</summary>
    public static async Task<(WebApplication App, Uri Url)> StartAsync(SchedulerOptions? scheduler = null, long bodyLimit = BodyLimit,
        Func<ServerOptions, ServerOptions>? configure = null)
    {
        string data = Directory.CreateTempSubdirectory("parley-data-").FullName;
        var options = new ServerOptions
        {
            DataDirectory = data,
            Database = null,
            Port = 0,
            Threads = 2,
            Models = [TestModels.Tiny(ModelId + ".gguf"), TestModels.Tiny("tiny-llama-spm-q8_0.gguf")],
            Scheduler = scheduler ?? new SchedulerOptions { KvCacheMegabytes = 64 },
            MaxRequestBodyBytes = bodyLimit,
        };
        var app = ParleyServer.Build(configure?.Invoke(options) ?? options);
        app.Lifetime.ApplicationStopped.Register(() => Directory.Delete(data, recursive: true));
        await app.StartAsync();
        return (app, ParleyServer.Address(app));
    }

    public async Task InitializeAsync()
    {
        (App, Url) = await StartAsync();
        Http = new HttpClient { BaseAddress = Url, Timeout = TimeSpan.FromMinutes(2) };
        _reference = LanguageModel.Load(TestModels.Tiny(ModelId + ".gguf"), threads: 1);
    }

    /// <summary>What a chat request gives alone, greedy: the rendered prompt run by the single-sequence generator.</summary>
    public string ChatAlone(string user, int maxTokens)
    {
        var prompt = ChatCompletions.Render(Model, [new() { ["role"] = "user", ["content"] = user }]);
        lock (_reference!)
        {
            var generator = new TextGenerator(_reference, Model.Tokenizer);
            return string.Concat(generator.Generate(prompt, new GenerationOptions { MaxTokens = maxTokens, Sampling = SamplingOptions.Greedy }).Select(t => t.Text));
        }
    }

    public async Task DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        _reference?.Dispose();
    }
}

[CollectionDefinition(Name)]
public sealed class ServerCollection : ICollectionFixture<ServerFixture>
{
    public const string Name = "server";
}
