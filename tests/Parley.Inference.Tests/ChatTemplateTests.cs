using System.Text.Json;
using Parley.Inference.Templates;
using Xunit.Abstractions;

namespace Parley.Inference.Tests;

/// <summary>
/// Every real template in ../shared/reference/chat-templates against what Jinja2 rendered for its
/// cases (as Hugging Face transformers renders: sandbox, trim_blocks, lstrip_blocks,
/// strftime_now fixed to 2026-01-15 09:30), or the error it raised.
/// </summary>
public class ChatTemplateTests(ITestOutputHelper output)
{
    private static readonly DateTime Clock = new(2026, 1, 15, 9, 30, 0);

    /// <summary>Families whose every case must match exactly.</summary>
    private static readonly string[] Required =
    [
        "meta-llama-Llama-3", "Qwen-Qwen2.5", "Qwen-Qwen3", "HuggingFaceTB-SmolLM3", "Mistral", "mistralai-", "google-gemma",
        "microsoft-Phi-3.5", "deepseek-ai-",
    ];

    private sealed record Outcome(string Template, string Case, bool Passed, string Detail);

    private static IEnumerable<Outcome> RunAll()
    {
        foreach (var file in Directory.GetFiles(TestModels.Reference("chat-templates"), "*.cases.json").Order())
        {
            var doc = JsonDocument.Parse(File.ReadAllText(file)).RootElement;
            string name = doc.GetProperty("template").GetString()!;
            string source = File.ReadAllText(Path.Combine(Path.GetDirectoryName(file)!, name));
            ChatTemplate? template = null;
            string? parseError = null;
            try
            {
                template = ChatTemplate.Parse(source);
            }
            catch (TemplateException e)
            {
                parseError = e.Message;
            }

            foreach (var c in doc.GetProperty("cases").EnumerateArray())
            {
                string caseName = c.GetProperty("name").GetString()!;
                var vars = new Dictionary<string, object?>();
                foreach (var p in c.GetProperty("variables").EnumerateObject()) vars[p.Name] = p.Value.Clone();
                vars["messages"] = c.GetProperty("messages").Clone();
                string? expected = c.TryGetProperty("expected", out var ex) ? ex.GetString() : null;
                string? expectedError = c.TryGetProperty("expected_error", out var ee) ? ee.GetString() : null;
                if (template is null)
                {
                    yield return new Outcome(name, caseName, false, $"parse error: {parseError}");
                    continue;
                }

                string? got = null, error = null;
                try
                {
                    got = template.Render(vars, Clock);
                }
                catch (TemplateException e)
                {
                    error = e.Message;
                }

                if (expectedError != null)
                {
                    bool ok = error == expectedError;
                    yield return new Outcome(name, caseName, ok, ok ? "" : $"expected error {expectedError}, got {error ?? "output " + Show(got!)}");
                }
                else
                {
                    bool ok = error is null && got == expected;
                    yield return new Outcome(name, caseName, ok, ok ? "" : error != null ? $"error {error}" : $"first difference at {FirstDiff(got!, expected!)}: got {Show(Around(got!, expected!))}, expected {Show(Around(expected!, got!))}");
                }
            }
        }
    }

    private static int FirstDiff(string a, string b)
    {
        int i = 0;
        while (i < a.Length && i < b.Length && a[i] == b[i]) i++;
        return i;
    }

    private static string Around(string a, string b)
    {
        int i = FirstDiff(a, b);
        return a.Substring(Math.Max(0, i - 20), Math.Min(a.Length - Math.Max(0, i - 20), 60));
    }

    private static string Show(string s) => JsonSerializer.Serialize(s);

    [Fact]
    public void RealTemplatesRenderAsJinja2Does()
    {
        var outcomes = RunAll().ToList();
        int passed = outcomes.Count(o => o.Passed);
        foreach (var o in outcomes.Where(o => !o.Passed)) output.WriteLine($"FAIL {o.Template} [{o.Case}]: {o.Detail}");
        output.WriteLine($"{passed}/{outcomes.Count} cases match ({100.0 * passed / outcomes.Count:F1}%)");
        var requiredFailures = outcomes.Where(o => !o.Passed && Required.Any(r => o.Template.StartsWith(r, StringComparison.Ordinal))).ToList();
        Assert.True(requiredFailures.Count == 0, "required templates failed: " + string.Join("; ", requiredFailures.Select(o => $"{o.Template} [{o.Case}]: {o.Detail}")));
        Assert.True(passed >= 0.9 * outcomes.Count, $"only {passed} of {outcomes.Count} cases match");
    }
}
