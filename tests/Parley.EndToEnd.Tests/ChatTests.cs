using Microsoft.Playwright;

namespace Parley.EndToEnd.Tests;

/// <summary>Chatting in a real browser: streaming, stop, regenerate and branches, edits, reload, search, delete, a phone.</summary>
[Collection(BrowserCollection.Name)]
public sealed class ChatTests(BrowserFixture server) : IClassFixture<BrowserFixture>, IAsyncLifetime
{
    private IPage _page = null!;
    private static int _users;

    public async Task InitializeAsync()
    {
        _page = await server.NewPageAsync();
        await Ui.SignUpAsync(_page, $"user{Interlocked.Increment(ref _users)}");
    }

    public Task DisposeAsync() => _page.Context.CloseAsync();

    /// <summary>Records the length of the newest answer's text at every change of the page.</summary>
    private Task WatchAnswerLengthsAsync() => _page.EvaluateAsync(@"() => {
        window.__lengths = [];
        new MutationObserver(() => {
            const answers = document.querySelectorAll('article[data-role=assistant]');
            const last = answers[answers.length - 1];
            if (last) window.__lengths.push(last.innerText.length);
        }).observe(document.body, { subtree: true, childList: true, characterData: true });
    }");

    [Fact]
    public async Task AnAnswerStreamsInAndSurvivesAReload()
    {
        await WatchAnswerLengthsAsync();
        await Ui.SendAsync(_page, "Tell me a long story about the sea");
        await Ui.WaitForConversationAsync(_page);
        await Ui.WaitIdleAsync(_page);
        await BrowserFixture.ScreenshotAsync(_page, "04-streamed-answer");

        string answer = await Ui.Answers(_page).Last.Locator(".message-content").TextContentAsync() ?? "";
        Assert.NotEmpty(answer.Trim());
        // The watcher above survived the navigation to /c/… (same document), so it saw the text arrive in steps.
        var lengths = await _page.EvaluateAsync<int[]>("() => [...new Set(window.__lengths)]");
        Assert.True(lengths.Length >= 3, $"the answer appeared at once (lengths {string.Join(",", lengths)})");
        await Assertions.Expect(_page.GetByRole(AriaRole.Link, new() { Name = "Tell me a long story about the sea" })).ToBeVisibleAsync();

        await _page.ReloadAsync();
        await Assertions.Expect(Ui.Questions(_page)).ToHaveCountAsync(1);
        await Assertions.Expect(Ui.Answers(_page)).ToHaveCountAsync(1);
        await Assertions.Expect(Ui.Questions(_page).First).ToContainTextAsync("Tell me a long story about the sea");
        await Assertions.Expect(Ui.Answers(_page).First).ToHaveAttributeAsync("data-status", "complete");
        await BrowserFixture.ScreenshotAsync(_page, "05-after-reload");
    }

    [Fact]
    public async Task StopEndsTheAnswerWhereItIs()
    {
        // The test model is fast: when an answer ends before Stop lands, ask again.
        for (int attempt = 0; attempt < 6; attempt++)
        {
            await Ui.SendAsync(_page, $"Go on forever, attempt {attempt}");
            var stop = _page.GetByRole(AriaRole.Button, new() { Name = "Stop generating" });
            try
            {
                await stop.ClickAsync(new() { Timeout = 5_000 });
            }
            catch (TimeoutException)
            {
            }

            await Ui.WaitIdleAsync(_page);
            if (await Ui.Answers(_page).Last.GetAttributeAsync("data-status") == "stopped") break;
        }

        await Assertions.Expect(Ui.Answers(_page).Last).ToHaveAttributeAsync("data-status", "stopped");
        await Assertions.Expect(Ui.Answers(_page).Last.GetByText("Stopped.")).ToBeVisibleAsync();
        await BrowserFixture.ScreenshotAsync(_page, "06-stopped");
    }

    [Fact]
    public async Task RegenerateAndEditMakeBranchesToSwitchBetween()
    {
        await Ui.SendAsync(_page, "Branch out");
        await Ui.WaitForConversationAsync(_page);
        await Ui.WaitIdleAsync(_page);
        // TextContent, not InnerText: a long answer scrolled out of view is skipped by content-visibility, and its InnerText is empty.
        string? first = await Ui.Answers(_page).Last.Locator(".message-content").TextContentAsync();

        await Ui.Answers(_page).Last.GetByRole(AriaRole.Button, new() { Name = "Regenerate" }).ClickAsync();
        await Ui.WaitIdleAsync(_page);
        var versions = Ui.Answers(_page).Last.GetByLabel("Versions");
        await Assertions.Expect(versions).ToContainTextAsync("2/2");
        await Ui.Answers(_page).Last.GetByRole(AriaRole.Button, new() { Name = "Previous version" }).ClickAsync();
        await Assertions.Expect(versions).ToContainTextAsync("1/2");
        Assert.Equal(first, await Ui.Answers(_page).Last.Locator(".message-content").TextContentAsync());
        await BrowserFixture.ScreenshotAsync(_page, "07-regenerated-branches");

        await Ui.Questions(_page).Last.GetByRole(AriaRole.Button, new() { Name = "Edit message" }).ClickAsync();
        await _page.GetByLabel("Edit message").FillAsync("Branch out, edited");
        await _page.GetByRole(AriaRole.Button, new() { Name = "Send", Exact = true }).ClickAsync();
        await Ui.WaitIdleAsync(_page);
        await Assertions.Expect(Ui.Questions(_page).Last).ToContainTextAsync("Branch out, edited");
        await Assertions.Expect(Ui.Questions(_page).Last.GetByLabel("Versions")).ToContainTextAsync("2/2");
        await _page.RunAndWaitForResponseAsync(
            () => Ui.Questions(_page).Last.GetByRole(AriaRole.Button, new() { Name = "Previous version" }).ClickAsync(),
            r => r.Request.Method == "PATCH");
        await Assertions.Expect(Ui.Questions(_page).Last).ToContainTextAsync("Branch out");
        await Assertions.Expect(Ui.Questions(_page).Last.GetByLabel("Versions")).ToContainTextAsync("1/2");
        // Switching to a branch shows its newest answer.
        await Assertions.Expect(Ui.Answers(_page).Last.GetByLabel("Versions")).ToContainTextAsync("2/2");
        await BrowserFixture.ScreenshotAsync(_page, "08-edited-branches");

        // The branch on screen is remembered.
        await _page.ReloadAsync();
        await Assertions.Expect(Ui.Questions(_page).Last.GetByLabel("Versions")).ToContainTextAsync("1/2");
        await Assertions.Expect(Ui.Answers(_page).Last.GetByLabel("Versions")).ToContainTextAsync("2/2");
    }

    [Fact]
    public async Task SearchFindsAndDeleteRemovesConversations()
    {
        await Ui.SendAsync(_page, "Recipes with zanzibar cloves");
        await Ui.WaitForConversationAsync(_page);
        await Ui.WaitIdleAsync(_page);
        await _page.GetByRole(AriaRole.Link, new() { Name = "New chat" }).ClickAsync();
        await _page.GetByRole(AriaRole.Heading, new() { Name = "What can I help with?" }).WaitForAsync();
        await Ui.SendAsync(_page, "Something else entirely");
        await Ui.WaitForConversationAsync(_page);
        await Ui.WaitIdleAsync(_page);
        var list = _page.GetByRole(AriaRole.Navigation, new() { Name = "Conversations" });
        await Assertions.Expect(list.GetByRole(AriaRole.Link, new() { Name = "Something else entirely" })).ToBeVisibleAsync();

        await _page.GetByRole(AriaRole.Searchbox, new() { Name = "Search conversations" }).FillAsync("zanzibar");
        await Assertions.Expect(list.GetByRole(AriaRole.Link, new() { Name = "Recipes with zanzibar cloves" })).ToBeVisibleAsync();
        await Assertions.Expect(list.GetByRole(AriaRole.Link, new() { Name = "Something else entirely" })).ToHaveCountAsync(0);
        await BrowserFixture.ScreenshotAsync(_page, "09-search");
        await _page.GetByRole(AriaRole.Searchbox, new() { Name = "Search conversations" }).FillAsync("");

        await list.GetByRole(AriaRole.Button, new() { Name = "Options for Something else entirely" }).ClickAsync();
        await _page.GetByRole(AriaRole.Menuitem, new() { Name = "Delete" }).ClickAsync();
        await BrowserFixture.ScreenshotAsync(_page, "10-delete-confirm");
        await _page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Delete" }).ClickAsync();
        await Assertions.Expect(list.GetByRole(AriaRole.Link, new() { Name = "Something else entirely" })).ToHaveCountAsync(0);
        await _page.ReloadAsync();
        await Assertions.Expect(list.GetByRole(AriaRole.Link, new() { Name = "Recipes with zanzibar cloves" })).ToBeVisibleAsync();
        await Assertions.Expect(list.GetByRole(AriaRole.Link, new() { Name = "Something else entirely" })).ToHaveCountAsync(0);
    }

    [Fact]
    public async Task OnAPhoneTheSidebarIsADrawer()
    {
        await Ui.SendAsync(_page, "Hello from a laptop");
        await Ui.WaitForConversationAsync(_page);
        await Ui.WaitIdleAsync(_page);

        var phone = await _page.Context.NewPageAsync();
        await phone.SetViewportSizeAsync(390, 844);
        await phone.GotoAsync(_page.Url);
        await Assertions.Expect(Ui.Answers(phone)).ToHaveCountAsync(1);
        var drawerLink = phone.GetByRole(AriaRole.Link, new() { Name = "Hello from a laptop" });
        await Assertions.Expect(drawerLink).ToBeHiddenAsync();
        await BrowserFixture.ScreenshotAsync(phone, "11-phone");
        await phone.GetByRole(AriaRole.Button, new() { Name = "Open sidebar" }).First.ClickAsync();
        await Assertions.Expect(drawerLink).ToBeVisibleAsync();
        await BrowserFixture.ScreenshotAsync(phone, "12-phone-drawer");
        await phone.GetByRole(AriaRole.Link, new() { Name = "New chat" }).ClickAsync();
        await Assertions.Expect(drawerLink).ToBeHiddenAsync();
    }
}
