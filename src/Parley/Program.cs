using Parley.Cli;
using Parley.Commands;
using Parley.Inference.Gguf;

namespace Parley;

public static class Program
{
    private const string Usage = """
        usage: parley <command> [options]

        commands:
          generate -m MODEL -p PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--min-p P] [--seed S] [-t THREADS]
          bench    -m MODEL [-p 512] [-n 128] [-t THREADS] [-r REPS] [--json]
        """;

    public static int Main(string[] args) => Run(args, Console.Out, Console.Error);

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
