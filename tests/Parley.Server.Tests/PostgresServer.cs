using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Parley.Server.Tests;

/// <summary>
/// A real PostgreSQL server for the tests, started once per test run as a plain process on
/// 127.0.0.1 (a fresh cluster in a temporary folder, trust auth) and stopped when the run ends.
/// Debian's postgresql package provides it; test.sh installs that package where it is missing.
/// As root the server runs as the 'postgres' user, since PostgreSQL refuses to run as root.
/// </summary>
public static class PostgresServer
{
    private static readonly Lazy<string> Started = new(Start);
    private static int _databases;

    /// <summary>A connection string to a new, empty database.</summary>
    public static async Task<string> NewDatabaseAsync()
    {
        string server = Started.Value;
        string name = $"parley_{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}";
        await using (var connection = new NpgsqlConnection(server + ";Database=postgres"))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE DATABASE {name}", connection);
            await create.ExecuteNonQueryAsync();
        }

        return $"{server};Database={name}";
    }

    private static string Start()
    {
        string bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().FirstOrDefault() ?? ""
            : "";
        if (bin.Length == 0) throw new InvalidOperationException("PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): apt-get install postgresql, or run ./test.sh, which does.");

        // Clusters of earlier runs whose server is gone (the test host may be killed before its exit handler ends).
        foreach (var old in Directory.GetDirectories(Path.GetTempPath(), "parley-pg-*").Where(d => !File.Exists(Path.Combine(d, "data", "postmaster.pid"))))
        {
            Run("rm", "-rf", old);
        }

        string dir = Directory.CreateTempSubdirectory("parley-pg-").FullName;
        string data = Path.Combine(dir, "data");
        bool root = Environment.UserName == "root";
        if (root) Run("chown", "-R", "postgres:postgres", dir);
        int port = FreePort();
        Run(root, Path.Combine(bin, "initdb"), "-D", data, "-U", "parley", "-A", "trust", "-E", "UTF8", "--no-sync");
        Run(root, Path.Combine(bin, "pg_ctl"), "-D", data, "-w", "-t", "60", "-l", Path.Combine(dir, "log"),
            "-o", $"-p {port} -k {dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", "start");
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            Run(root, Path.Combine(bin, "pg_ctl"), "-D", data, "-w", "-m", "immediate", "stop");
            Run("rm", "-rf", dir);
        };
        return $"Host=127.0.0.1;Port={port};Username=parley";
    }

    private static void Run(bool asPostgres, string program, params string[] args)
    {
        if (asPostgres) Run("runuser", ["-u", "postgres", "--", program, .. args]);
        else Run(program, args);
    }

    private static void Run(string program, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        using var p = Process.Start(start)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"{program} {string.Join(' ', args)} failed ({p.ExitCode}): {output}");
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
