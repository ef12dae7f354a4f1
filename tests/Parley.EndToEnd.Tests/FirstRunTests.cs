using Microsoft.Playwright;

namespace Parley.EndToEnd.Tests;

/// <summary>A new server: the first visitor creates the admin account; a second person signs up and sees none of it.</summary>
[Collection(BrowserCollection.Name)]
public sealed class FirstRunTests(BrowserFixture server) : IClassFixture<BrowserFixture>
{
    [Fact]
    public async Task TheFirstVisitorCreatesTheAdminAndASecondUserSeesNothingOfTheirs()
    {
        var admin = await server.NewPageAsync();
        await admin.GotoAsync("/");
        await Assertions.Expect(admin).ToHaveURLAsync(new System.Text.RegularExpressions.Regex("/signin"));
        await Assertions.Expect(admin.GetByRole(AriaRole.Heading, new() { Name = "Welcome to Parley" })).ToBeVisibleAsync();
        await BrowserFixture.ScreenshotAsync(admin, "01-first-run");
        await admin.GetByLabel("User name").FillAsync("admin");
        await admin.GetByLabel("Password").FillAsync(Ui.Password);
        await admin.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await Ui.SendAsync(admin, "The admin's private plans");
        await Ui.WaitForConversationAsync(admin);
        await Ui.WaitIdleAsync(admin);
        string secret = Ui.ConversationId(admin);

        var bob = await server.NewPageAsync();
        await bob.GotoAsync("/signin");
        await bob.GetByRole(AriaRole.Link, new() { Name = "Create an account" }).ClickAsync();
        await bob.GetByLabel("User name").FillAsync("bob");
        await bob.GetByLabel("Password").FillAsync(Ui.Password);
        await bob.GetByRole(AriaRole.Button, new() { Name = "Create account" }).ClickAsync();
        await Assertions.Expect(bob.GetByText("No conversations yet.")).ToBeVisibleAsync();
        await BrowserFixture.ScreenshotAsync(bob, "02-second-user");
        await bob.GotoAsync($"/c/{secret}");
        await Assertions.Expect(bob.GetByText("This conversation does not exist, or is not yours.")).ToBeVisibleAsync();
        await Assertions.Expect(bob.GetByText("The admin's private plans")).ToHaveCountAsync(0);
        await BrowserFixture.ScreenshotAsync(bob, "03-not-yours");
        await bob.GetByRole(AriaRole.Button, new() { Name = "Account: bob" }).ClickAsync();
        await Assertions.Expect(bob.GetByRole(AriaRole.Menuitem, new() { Name = "Admin" })).ToHaveCountAsync(0);

        // The admin sees both accounts, closes sign-up, and a third visitor is told so.
        await admin.GetByRole(AriaRole.Button, new() { Name = "Account: admin" }).ClickAsync();
        await admin.GetByRole(AriaRole.Menuitem, new() { Name = "Admin" }).ClickAsync();
        await Assertions.Expect(admin.GetByRole(AriaRole.Cell, new() { Name = "bob", Exact = true })).ToBeVisibleAsync();
        await Assertions.Expect(admin.GetByRole(AriaRole.Cell, new() { Name = "admin", Exact = true }).First).ToBeVisibleAsync();
        await admin.GetByLabel("Anyone may create an account").UncheckAsync();
        await BrowserFixture.ScreenshotAsync(admin, "15-admin");
        var carol = await server.NewPageAsync();
        await carol.GotoAsync("/signin");
        await Assertions.Expect(carol.GetByRole(AriaRole.Link, new() { Name = "Create an account" })).ToHaveCountAsync(0);
    }
}

[CollectionDefinition(Name)]
public sealed class BrowserCollection
{
    public const string Name = "browser";
}
