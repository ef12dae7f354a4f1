using Microsoft.AspNetCore.Builder;
using Microsoft.Playwright;
using Parley.Inference.Tests;
using Parley.Server;

namespace Parley.EndToEnd.Tests;

/// <summary>
/// The real Parley (engine on a test model, SQLite in a temporary folder, the built web app) on
/// 127.0.0.1, and Debian's Chromium driven headless by Playwright. Browser downloads are not used:
/// Playwright launches /usr/bin/chromium (CHROMIUM overrides the path).
/// </summary>
public sealed class BrowserFixture : IAsyncLifetime
{
    public static readonly string ChromiumPath = Environment.GetEnvironmentVariable("CHROMIUM") is { Length: > 0 } p ? p : "/usr/bin/chromium";
    public static readonly string Screenshots = Path.Combine(AppContext.BaseDirectory, "screenshots");

    private readonly string _data = Directory.CreateTempSubdirectory("parley-e2e-").FullName;
    private IPlaywright _playwright = null!;

    public WebApplication App { get; private set; } = null!;
    public Uri Url { get; private set; } = null!;
    public IBrowser Browser { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumPath)) throw new InvalidOperationException($"Chromium is not at {ChromiumPath}: apt-get install chromium (./test.sh does), or set CHROMIUM.");
        App = ParleyServer.Build(new ServerOptions
        {
            Port = 0,
            Threads = 2,
            Models = [TestModels.Tiny("tiny-qwen2-bpe-q8_0.gguf"), TestModels.Tiny("tiny-llama-spm-q8_0.gguf")],
            DataDirectory = _data,
            Database = null,
            AuthAttemptsPerMinute = 1000,
            MessagesPerMinute = 1000,
        });
        await App.StartAsync();
        Url = ParleyServer.Address(App);
        Directory.CreateDirectory(Screenshots);
        Assertions.SetDefaultExpectTimeout(30_000); // CI machines are shared and slow at times

        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        });
    }

    /// <summary>A fresh browser profile (its own cookies and storage), as another person on another machine.</summary>
    public async Task<IPage> NewPageAsync(int width = 1280, int height = 800)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = Url.ToString(),
            ViewportSize = new ViewportSize { Width = width, Height = height },
            Permissions = ["clipboard-read", "clipboard-write"],
        });
        context.SetDefaultTimeout(60_000); // answers of up to ~1000 tokens on a busy 2-core machine
        return await context.NewPageAsync();
    }

    public static Task ScreenshotAsync(IPage page, string name) =>
        page.ScreenshotAsync(new PageScreenshotOptions { Path = Path.Combine(Screenshots, name + ".png"), FullPage = true });

    public async Task DisposeAsync()
    {
        await Browser.DisposeAsync();
        _playwright.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
        Directory.Delete(_data, recursive: true);
    }
}
