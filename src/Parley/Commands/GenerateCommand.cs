using Parley.Cli;
using Parley.Inference.Generation;
using Parley.Inference.Models;
using Parley.Inference.Sampling;
using Parley.Inference.Tokenization;

namespace Parley.Commands;

/// <summary>parley generate -m MODEL -p PROMPT [-n N] [--temp T] [--top-k K] [--top-p P] [--seed S] [-t THREADS] [-ctk f16|q8_0] [-ctv f16|q8_0]</summary>
public static class GenerateCommand
{
    public static int Run(string[] args, TextWriter stdout)
    {
        var a = new Arguments(args, new HashSet<string>());
        string model = a.String("-m", "--model") ?? throw new CliException("generate needs a model: -m MODEL");
        string prompt = a.String("-p", "--prompt") ?? throw new CliException("generate needs a prompt: -p PROMPT");
        int n = a.Int(128, "-n", "--n-predict");
        int threads = a.Int(0, "-t", "--threads");
        string? seed = a.String("--seed", "-s");
        var sampling = new SamplingOptions
        {
            Temperature = a.Float(0.8f, "--temp"),
            TopK = a.Int(40, "--top-k"),
            TopP = a.Float(0.95f, "--top-p"),
            MinP = a.Float(0.05f, "--min-p"),
            RepetitionPenalty = a.Float(1f, "--repeat-penalty"),
            Seed = seed is null ? null : ulong.TryParse(seed, out var s) ? s : throw new CliException($"option --seed expects a non-negative integer, got '{seed}'"),
        };
        var cacheTypes = CacheTypeArguments.Read(a);
        a.RejectUnknown();
        if (n < 0) throw new CliException("option -n must be 0 or more");
        if (threads < 0) throw new CliException("option -t must be 0 (all cores) or more");

        using var llm = ModelLoader.Load(model, threads);
        var tokenizer = Tokenizer.FromGguf(llm.File);
        var ids = tokenizer.Encode(prompt, addSpecial: true, parseSpecial: true);
        var generator = new TextGenerator(llm, tokenizer, cacheTypes);
        stdout.Write(prompt);
        foreach (var t in generator.Generate(ids, new GenerationOptions { MaxTokens = n, Sampling = sampling }))
        {
            stdout.Write(t.Text);
            stdout.Flush();
        }

        stdout.WriteLine();
        return 0;
    }
}
