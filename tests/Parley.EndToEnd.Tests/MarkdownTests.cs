using Microsoft.Playwright;

namespace Parley.EndToEnd.Tests;

/// <summary>Answers render as ChatGPT shows them: GitHub tables, highlighted code with a copy button, LaTeX through KaTeX.</summary>
[Collection(BrowserCollection.Name)]
public sealed class MarkdownTests(BrowserFixture server) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task TablesCodeAndMathRender()
    {
        var page = await server.NewPageAsync();
        await Ui.SignUpAsync(page, "reader");
        const string answer = "| planet | moons |\n|---|---|\n| Mars | 2 |\n\n```python\nprint(\"hi\")\n```\n\nEnergy: $E = mc^2$, or \\(p = mv\\), and\n\n\\[\\int_0^1 x\\,dx = \\tfrac12\\]";
        string id = await page.EvaluateAsync<string>(@"async (answer) => {
            const csrf = (await (await fetch('/api/auth/csrf')).json()).token;
            const messages = [{ id: 'q', parentId: null, role: 'user', content: 'Show me markdown' }, { id: 'a', parentId: 'q', role: 'assistant', content: answer }];
            const r = await fetch('/api/conversations/import', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify({ title: 'Markdown', messages }) });
            return (await r.json()).id;
        }", answer);
        await page.GotoAsync($"/c/{id}");

        var rendered = Ui.Answers(page).First;
        await Assertions.Expect(rendered.Locator("table th").First).ToHaveTextAsync("planet");
        await Assertions.Expect(rendered.Locator("table td").First).ToHaveTextAsync("Mars");
        await Assertions.Expect(rendered.Locator("pre code.hljs .hljs-built_in, pre code .hljs-built_in").First).ToHaveTextAsync("print");
        await Assertions.Expect(rendered.Locator(".katex")).ToHaveCountAsync(3);
        await Assertions.Expect(rendered.Locator(".katex-display")).ToHaveCountAsync(1);
        await rendered.GetByRole(AriaRole.Button, new() { Name = "Copy code" }).ClickAsync();
        Assert.Equal("print(\"hi\")", await page.EvaluateAsync<string>("() => navigator.clipboard.readText()"));
        await BrowserFixture.ScreenshotAsync(page, "18-markdown");
    }
}
