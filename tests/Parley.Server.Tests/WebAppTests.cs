using System.IO.Compression;
using System.Net;
using System.Text.RegularExpressions;
using Parley.Server.Hosting;

namespace Parley.Server.Tests;

/// <summary>The built web app as Parley serves it: caching, the SPA fallback beside the APIs, and the size of the first load.</summary>
[Collection(ServerCollection.Name)]
public sealed partial class WebAppTests(ServerFixture server)
{
    public const int FirstLoadBudget = 250 * 1024;

    [GeneratedRegex("(?:src|href)=\"(/assets/[^\"]+\\.js)\"")]
    private static partial Regex Scripts();

    [Fact]
    public async Task IndexIsNeverCachedHashedAssetsForAYearAndAppRoutesFallBackToIndex()
    {
        Assert.True(WebApp.Exists, $"the web app was not built into {WebApp.Root}");
        using var index = await server.Http.GetAsync("/");
        Assert.Equal(HttpStatusCode.OK, index.StatusCode);
        Assert.Equal("no-cache", index.Headers.CacheControl?.ToString());
        string html = await index.Content.ReadAsStringAsync();
        Assert.Contains("<div id=\"root\"", html);

        string script = Scripts().Match(html).Groups[1].Value;
        using var asset = await server.Http.GetAsync(script);
        Assert.Equal(HttpStatusCode.OK, asset.StatusCode);
        Assert.Equal("public, max-age=31536000, immutable", asset.Headers.CacheControl?.ToString());

        foreach (var route in new[] { "/c/0196f0aa-0000-7000-8000-000000000000", "/settings", "/signin?next=%2Fkeys" })
        {
            using var page = await server.Http.GetAsync(route);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Equal(html, await page.Content.ReadAsStringAsync());
        }

        // The APIs keep their own answers.
        using var api = await server.Http.GetAsync("/api/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, api.StatusCode);
        Assert.Contains("unknown_url", await api.Content.ReadAsStringAsync());
        using var v1 = await server.Http.GetAsync("/v1/nothing-here");
        Assert.Equal(HttpStatusCode.NotFound, v1.StatusCode);
        // A file that is not there is a 404, not the app's page (a stale asset must fail loudly, not parse HTML as script).
        using var missingAsset = await server.Http.GetAsync("/assets/missing-0000.js");
        Assert.Equal(HttpStatusCode.NotFound, missingAsset.StatusCode);
    }

    [Fact]
    public async Task TheFirstLoadIsWithinTheJavaScriptBudget()
    {
        string html = await File.ReadAllTextAsync(Path.Combine(WebApp.Root, "index.html"));
        var scripts = Scripts().Matches(html).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.NotEmpty(scripts);
        long total = 0;
        foreach (var script in scripts)
        {
            byte[] bytes = await File.ReadAllBytesAsync(Path.Combine(WebApp.Root, script.TrimStart('/')));
            using var gz = new MemoryStream();
            await using (var zip = new GZipStream(gz, CompressionLevel.SmallestSize, leaveOpen: true)) await zip.WriteAsync(bytes);
            total += gz.Length;
        }

        Assert.True(total <= FirstLoadBudget, $"first load: {total / 1024} KB of JavaScript gzipped, over the {FirstLoadBudget / 1024} KB budget");
    }
}
