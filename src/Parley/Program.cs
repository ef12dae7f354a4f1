using Parley.Cli;
using Parley.Commands;
using Parley.Inference.Gguf;

namespace Parley;

public static class Program
{
    private const string Usage = """
        usage: parley <command> [options]

        commands:
          serve    [-m MODEL] [--host 127.0.0.1] [--port 8080] [--max-sequences 16] [--ctx-size TOKENS | --kv-cache-mb 256] [-ctk f16|q8_0] [-ctv f16|q8_0] [--max-queue 64] [--max-batch-tokens 256] [--prefill-stall-ms 50] [--chat-template FILE] [--no-warmup] [-t THREADS]
          models   (lists the model store: PARLEY_MODELS, default ~/.parley/models)
          pull     hf:OWNER/REPO/FILE.gguf
          generate -m MODEL -p PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] [--seed S] [-t THREADS] [-ctk f16|q8_0] [-ctv f16|q8_0]
          bench    -m MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [--sequences S] [-ctk f16|q8_0] [-ctv f16|q8_0] [--json]
          bench serve --url URL [--model ID] [--concurrency 16] [--requests 64] [--prompt-tokens 128] [--output-tokens 128] [--temperature 0] [--seed S] [--json]
        """;

    public static int Main(string[] args)
    {
        // The load generator shares the cores it measures: its socket completions run on the event
        // thread instead of hopping to the thread pool, which halves its CPU per streamed token. Only
        // for it: a server's handlers must never run on the socket event thread. Read once, at the
        // first socket, so it is set before anything connects.
        if (args is ["bench", "serve", ..]) Environment.SetEnvironmentVariable("DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS", "1");
        return Run(args, Console.Out, Console.Error);
    }

    public static int Run(string[] args, TextWriter stdout, TextWriter stderr)
    {
        if (args.Length == 0 || args[0] is "-h" or "--help" or "help")
        {
            (args.Length == 0 ? stderr : stdout).WriteLine(Usage);
            return args.Length == 0 ? 2 : 0;
        }

        try
        {
            string[] rest = args[1..];
            return args[0] switch
            {
                "serve" => ServeCommand.Run(rest, stdout),
                "models" => ModelsCommand.Run(rest, stdout),
                "pull" => PullCommand.Run(rest, stdout, stderr),
                "generate" => GenerateCommand.Run(rest, stdout),
                "bench" => BenchCommand.Run(rest, stdout),
                _ => throw new CliException($"unknown command '{args[0]}' (try: parley --help)"),
            };
        }
        catch (CliException e)
        {
            stderr.WriteLine($"parley: {e.Message}");
            return 2;
        }
        catch (Exception e) when (e is GgufFormatException or NotSupportedException or IOException or UnauthorizedAccessException)
        {
            stderr.WriteLine($"parley: {e.Message}");
            return 1;
        }
    }
}
