using System.Net;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;

namespace Parley.Server.Tests;

/// <summary>Per-user message limits, and what changes behind an HTTPS proxy.</summary>
public sealed class SendLimitTests
{
    [Fact]
    public async Task SendingMoreThanTheLimitPerMinuteGets429()
    {
        var (app, url) = await ServerFixture.StartAsync(configure: o => o with { MessagesPerMinute = 2 });
        await using var _ = app;
        using var alice = new AppClient(url);
        await alice.RegisterAsync("alice");
        string id = await alice.NewConversationAsync();
        await alice.SendAsync(id, "one");
        await alice.SendAsync(id, "two");
        using var third = await alice.SendAsync(HttpMethod.Post, $"api/conversations/{id}/messages", new { content = "three" });
        Assert.Equal((HttpStatusCode)429, third.StatusCode);
        Assert.True(int.Parse(third.Headers.GetValues("Retry-After").Single()) >= 1);

        // Another user has their own allowance.
        using var bob = new AppClient(url);
        await bob.RegisterAsync("bob");
        await bob.SendAsync(await bob.NewConversationAsync(), "mine");
    }

    [Fact]
    public async Task BehindATrustedProxyHttpsGivesSecureCookiesAndHsts()
    {
        var (app, url) = await ServerFixture.StartAsync(configure: o => o with { BehindProxy = true });
        await using var _ = app;
        // The cookies are Secure now, so this plain-HTTP client carries them by hand, as the proxy would over HTTPS.
        using var http = new HttpClient(new HttpClientHandler { UseCookies = false }) { BaseAddress = url };
        http.DefaultRequestHeaders.Add(ForwardedHeadersDefaults.XForwardedProtoHeaderName, "https");
        using var csrf = await http.GetAsync("api/auth/csrf");
        string preSession = csrf.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("parley_csrf=", StringComparison.Ordinal));
        Assert.Contains("secure", preSession, StringComparison.OrdinalIgnoreCase);
        string token = JsonDocument.Parse(await csrf.Content.ReadAsStringAsync()).RootElement.GetProperty("token").GetString()!;
        using var register = new HttpRequestMessage(HttpMethod.Post, "api/auth/register")
        {
            Content = new StringContent("{\"username\":\"carol\",\"password\":\"correct horse battery\"}", Encoding.UTF8, "application/json"),
        };
        register.Headers.Add("Cookie", preSession.Split(';')[0]);
        register.Headers.Add("X-CSRF-Token", token);
        using var response = await http.SendAsync(register);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Contains("secure", response.Headers.GetValues("Set-Cookie").Single(c => c.StartsWith("parley_session=", StringComparison.Ordinal)), StringComparison.OrdinalIgnoreCase);
        Assert.StartsWith("max-age=", response.Headers.GetValues("Strict-Transport-Security").Single());
    }
}
