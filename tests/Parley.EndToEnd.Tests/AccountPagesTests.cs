using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Parley.EndToEnd.Tests;

/// <summary>Settings, API keys, a chat's own system prompt, and a session that expires mid-conversation.</summary>
[Collection(BrowserCollection.Name)]
public sealed class AccountPagesTests(BrowserFixture server) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task SettingsAndApiKeysWork()
    {
        var page = await server.NewPageAsync();
        await Ui.SignUpAsync(page, "root");

        await page.GetByRole(AriaRole.Button, new() { Name = "Account: root" }).ClickAsync();
        await page.GetByRole(AriaRole.Menuitem, new() { Name = "Settings" }).ClickAsync();
        await page.GetByLabel("Dark").CheckAsync();
        await page.GetByLabel("Custom instructions").FillAsync("Answer briefly.");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.GetByText("Saved.")).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("html")).ToHaveClassAsync(new Regex("dark"));
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByLabel("Custom instructions")).ToHaveValueAsync("Answer briefly.");
        await Assertions.Expect(page.Locator("html")).ToHaveClassAsync(new Regex("dark"));
        await BrowserFixture.ScreenshotAsync(page, "13-settings-dark");

        await page.GotoAsync("/keys");
        await page.GetByLabel("Key name").FillAsync("laptop");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        string key = await page.GetByTestId("new-key").InnerTextAsync();
        Assert.StartsWith("sk-parley-", key);
        await BrowserFixture.ScreenshotAsync(page, "14-api-key");
        await page.ReloadAsync();
        await Assertions.Expect(page.GetByText("laptop")).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByText(key)).ToHaveCountAsync(0); // shown once

        // The key works for /v1 from outside the browser.
        using (var http = new HttpClient { BaseAddress = server.Url })
        {
            http.DefaultRequestHeaders.Authorization = new("Bearer", key);
            using var models = await http.GetAsync("v1/models");
            Assert.True(models.IsSuccessStatusCode);
        }
    }

    [Fact]
    public async Task AChatKeepsItsSystemPromptAndAnExpiredSessionComesBackToIt()
    {
        var page = await server.NewPageAsync();
        await Ui.SignUpAsync(page, "dana");
        await Ui.SendAsync(page, "Remember me");
        await Ui.WaitForConversationAsync(page);
        await Ui.WaitIdleAsync(page);
        string url = page.Url;

        await page.GetByRole(AriaRole.Button, new() { Name = "System prompt" }).ClickAsync();
        await page.GetByLabel("System prompt", new() { Exact = true }).FillAsync("You are a ship's cook.");
        await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "System prompt ✓" })).ToBeVisibleAsync();

        // The session ends (cookies gone, as after expiry); the next action leads to sign-in, then back here.
        await page.Context.ClearCookiesAsync();
        await page.ReloadAsync();
        await page.WaitForURLAsync("**/signin?next=**");
        await page.GetByLabel("User name").FillAsync("dana");
        await page.GetByLabel("Password").FillAsync(Ui.Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await page.WaitForURLAsync(url);
        await Assertions.Expect(Ui.Questions(page).First).ToContainTextAsync("Remember me");
        await page.GetByRole(AriaRole.Button, new() { Name = "System prompt ✓" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("System prompt", new() { Exact = true })).ToHaveValueAsync("You are a ship's cook.");
    }
}
