using Parley.Cli;
using Parley.Inference.Serving;
using Parley.Inference.Templates;
using Parley.Server;
using Microsoft.Extensions.DependencyInjection;
using Parley.Server.Data;
using Parley.Server.Hosting;

namespace Parley.Commands;

/// <summary>parley serve [-m MODEL] [--host H] [--port P] [--max-sequences N] [--ctx-size TOKENS | --kv-cache-mb M] [--cache-type-k f16|q8_0] [--cache-type-v f16|q8_0] [--max-queue Q] [--max-batch-tokens T] [--prefill-stall-ms MS] [--chat-template FILE] [--no-warmup] [-t THREADS] [--data DIR] [--database POSTGRES] [--behind-proxy]</summary>
public static class ServeCommand
{
    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new Arguments(args, new HashSet<string> { "--behind-proxy", "--no-warmup" });
        string? model = a.String("-m", "--model");
        var defaults = new SchedulerOptions();
        var scheduler = new SchedulerOptions
        {
            MaxSequences = a.Int(defaults.MaxSequences, "--max-sequences"),
            MaxQueue = a.Int(defaults.MaxQueue, "--max-queue"),
            KvCacheMegabytes = a.Int(defaults.KvCacheMegabytes, "--kv-cache-mb"),
            KvCacheTokens = a.Int(0, "-c", "--ctx-size"),
            KvCacheTypes = CacheTypeArguments.Read(a),
            MaxBatchTokens = a.Int(defaults.MaxBatchTokens, "--max-batch-tokens"),
            PrefillStallMs = a.Int(defaults.PrefillStallMs, "--prefill-stall-ms"),
            WarmUp = !a.Flag("--no-warmup"),
        };
        string? templateFile = a.String("--chat-template");
        var options = new ServerOptions
        {
            ChatTemplate = templateFile is null ? null : ReadTemplate(templateFile),
            Host = a.String("--host") ?? "127.0.0.1",
            Port = a.Int(8080, "--port"),
            Threads = a.Int(0, "-t", "--threads"),
            Models = Models(model),
            Scheduler = scheduler,
            DataDirectory = a.String("--data") ?? ServerOptions.DefaultDataDirectory(),
            Database = a.String("--database") ?? ServerOptions.DefaultDatabase(),
            BehindProxy = a.Flag("--behind-proxy"),
        };
        a.RejectUnknown();
        if (options.Port is < 0 or > 65535) throw new CliException("option --port must be between 0 and 65535");
        if (scheduler.MaxSequences < 1 || scheduler.KvCacheMegabytes < 1 || scheduler.MaxBatchTokens < 1 || scheduler.PrefillStallMs < 0 || scheduler.MaxQueue < 0
            || scheduler.KvCacheTokens < 0)
        {
            throw new CliException("--max-sequences, --kv-cache-mb and --max-batch-tokens must be 1 or more, --max-queue, --prefill-stall-ms and --ctx-size 0 or more");
        }

        if (scheduler.KvCacheTokens > 0 && a.String("--kv-cache-mb") is not null) throw new CliException("give the KV cache's size once: --ctx-size (tokens) or --kv-cache-mb");

        var app = ParleyServer.Build(options);
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var url = ParleyServer.Address(app);
            stdout.WriteLine($"Parley is serving {ModelStore.IdOf(options.Models[0])} ({options.Models.Count} model(s)) at {url}");
            stdout.WriteLine($"  OpenAI API: {url}v1   health: {url}healthz   metrics: {url}metrics   (Ctrl+C stops)");
            var data = app.Services.GetRequiredService<Database>();
            stdout.WriteLine($"  web app: {url}   data: {data.Provider} {data.Description}");
            var models = app.Services.GetRequiredService<ModelRegistry>();
            stdout.WriteLine($"  KV cache: {models.Get(models.DefaultId)!.Scheduler.KvCacheDescription} (per model)");
        });
        app.Run();
        return 0;
    }

    /// <summary>The template file's text, checked to parse now so a mistake is one line at start-up, not a 500 per request.</summary>
    private static string ReadTemplate(string file)
    {
        if (!File.Exists(file)) throw new CliException($"chat template file not found: {file}");
        string source = File.ReadAllText(file);
        try
        {
            ChatTemplate.Parse(source);
        }
        catch (TemplateException e)
        {
            throw new CliException($"chat template {file}: {e.Message}");
        }

        return source;
    }

    /// <summary>-m names a file or a model id in the store; without it, every model in the store (the first is the default).</summary>
    private static List<string> Models(string? model)
    {
        var store = ModelStore.Default();
        if (model is not null)
        {
            if (File.Exists(model)) return [model];
            var byId = store.List().FirstOrDefault(p => ModelStore.IdOf(p) == model);
            return byId is not null ? [byId] : throw new CliException($"model not found: '{model}' is neither a file nor a model in {store.Root}");
        }

        var all = store.List();
        return all.Count > 0
            ? all.ToList()
            : throw new CliException($"no models in {store.Root}: run 'parley pull hf:OWNER/REPO/FILE.gguf', set {ModelStore.EnvironmentVariable}, or pass -m FILE");
    }
}
