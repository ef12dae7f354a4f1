using System.Text.RegularExpressions;
using Microsoft.Playwright;

namespace Parley.EndToEnd.Tests;

/// <summary>What a person does in the app, as Playwright steps.</summary>
public static class Ui
{
    public const string Password = "correct horse battery";

    public static async Task SignUpAsync(IPage page, string name)
    {
        await page.GotoAsync("/signup");
        await page.GetByLabel("User name").FillAsync(name);
        await page.GetByLabel("Password").FillAsync(Password);
        await page.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await page.GetByLabel("Message", new() { Exact = true }).WaitForAsync();
    }

    /// <summary>Types a message and presses Enter.</summary>
    public static async Task SendAsync(IPage page, string text)
    {
        var composer = page.GetByLabel("Message", new() { Exact = true });
        await composer.FillAsync(text);
        // Enter sends the text React holds; on a loaded machine the key can arrive before React has
        // taken the fill in (the message then silently is not sent). The Send button enables with it.
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Send message" })).ToBeEnabledAsync();
        await composer.PressAsync("Enter");
    }

    /// <summary>
    /// Waits for the app to open a conversation (after a new chat's first message). When it does not,
    /// the error says what the page showed instead: a rare CI failure waited here in vain.
    /// </summary>
    public static async Task WaitForConversationAsync(IPage page)
    {
        try
        {
            await page.WaitForURLAsync("**/c/**");
        }
        catch (TimeoutException e)
        {
            var alerts = await page.GetByRole(AriaRole.Alert).AllInnerTextsAsync();
            var composer = page.GetByLabel("Message", new() { Exact = true });
            string typed = await composer.CountAsync() > 0 ? await composer.InputValueAsync() : "(no composer)";
            throw new TimeoutException($"no conversation opened: the page is at {page.Url}, alerts [{string.Join(" | ", alerts)}], composer holds \"{typed}\"", e);
        }
    }

    /// <summary>Waits until no answer is streaming (the Send button is back).</summary>
    public static async Task WaitIdleAsync(IPage page)
    {
        await page.Locator("article[data-role=assistant]").Last.WaitForAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Send message" }).WaitForAsync();
        await Assertions.Expect(page.Locator("article[data-status=streaming]")).ToHaveCountAsync(0);
    }

    public static string ConversationId(IPage page) => Regex.Match(page.Url, "/c/([0-9a-f-]{36})").Groups[1].Value;

    public static ILocator Answers(IPage page) => page.Locator("article[data-role=assistant]");

    public static ILocator Questions(IPage page) => page.Locator("article[data-role=user]");
}
