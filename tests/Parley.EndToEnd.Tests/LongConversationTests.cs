using System.Text.Json;
using Microsoft.Playwright;

namespace Parley.EndToEnd.Tests;

/// <summary>
/// A 2,000-message conversation opens at its end and scrolls back to its start; no layout shifts
/// while an answer streams. Timings go to the output's screenshots/long-conversation.json (a
/// benchmark figure, not asserted here).
/// </summary>
[Collection(BrowserCollection.Name)]
public sealed class LongConversationTests(BrowserFixture server) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task TwoThousandMessagesOpenAtTheEndAndScrollToTheStart()
    {
        var page = await server.NewPageAsync();
        await Ui.SignUpAsync(page, "historian");
        string id = await page.EvaluateAsync<string>(@"async (n) => {
            const csrf = (await (await fetch('/api/auth/csrf')).json()).token;
            const messages = [];
            let parent = null;
            for (let i = 0; i < n; i++) {
                const id = 'm' + i;
                const content = i % 2 === 0 ? 'Question ' + i : 'Answer ' + i + ' with **bold**, `code` and a list:\n\n- one\n- two\n\n```js\nconsole.log(' + i + ');\n```';
                messages.push({ id, parentId: parent, role: i % 2 === 0 ? 'user' : 'assistant', content });
                parent = id;
            }
            const r = await fetch('/api/conversations/import', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf }, body: JSON.stringify({ title: 'Long history', messages }) });
            return (await r.json()).id;
        }", 2000);

        var opened = System.Diagnostics.Stopwatch.StartNew();
        await page.GotoAsync($"/c/{id}");
        await Assertions.Expect(page.GetByText("Answer 1999 with")).ToBeInViewportAsync();
        long openMs = opened.ElapsedMilliseconds;
        await BrowserFixture.ScreenshotAsync(page, "16-long-conversation-end");

        // Scroll to the top in steps, timing the frames.
        var frames = await page.EvaluateAsync<double[]>(@"async () => {
            const box = document.querySelector('[aria-busy]');
            const times = [];
            let last = performance.now();
            while (box.scrollTop > 0) {
                box.scrollTop -= 600;
                await new Promise(r => requestAnimationFrame(r));
                const now = performance.now();
                times.push(now - last);
                last = now;
            }
            return times;
        }");
        await Assertions.Expect(page.GetByText("Question 0", new() { Exact = true })).ToBeInViewportAsync();
        await BrowserFixture.ScreenshotAsync(page, "17-long-conversation-start");
        Array.Sort(frames);
        var report = new { messages = 2000, open_ms = openMs, scroll_frames = frames.Length, frame_ms_p50 = frames[frames.Length / 2], frame_ms_p95 = frames[(int)(frames.Length * 0.95)] };
        await File.WriteAllTextAsync(Path.Combine(BrowserFixture.Screenshots, "long-conversation.json"), JsonSerializer.Serialize(report));
    }

    [Fact]
    public async Task NothingShiftsWhileAnAnswerStreams()
    {
        var page = await server.NewPageAsync();
        await Ui.SignUpAsync(page, "steady");
        await Ui.SendAsync(page, "First question");
        await Ui.WaitForConversationAsync(page);
        await Ui.WaitIdleAsync(page);

        await page.EvaluateAsync(@"() => {
            window.__shift = 0;
            new PerformanceObserver(list => {
                for (const e of list.getEntries()) if (!e.hadRecentInput) window.__shift += e.value;
            }).observe({ type: 'layout-shift' });
        }");
        await Ui.SendAsync(page, "Second question, streamed");
        await Ui.WaitIdleAsync(page);
        double shift = await page.EvaluateAsync<double>("() => window.__shift");
        Assert.True(shift < 0.1, $"cumulative layout shift while streaming: {shift:F3} (0.1 is the 'good' limit)");
    }
}
