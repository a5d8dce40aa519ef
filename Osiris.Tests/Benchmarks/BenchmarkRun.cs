using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Benchmarks;

/// <summary>
/// Runs the built benchmark entry point as its own process, as a person would, and checks that every figure row it
/// should print is there with a number in it. CI keeps the benchmarks working this way without timing anything.
/// </summary>
public static partial class BenchmarkRun
{
    public static async Task<string> RunAsync(string[] arguments, TimeSpan limit)
    {
        var dll = Path.Combine(Repository.Root, "Osiris.Benchmarks", "bin", Repository.Configuration, "net10.0", "Osiris.Benchmarks.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built; building Osiris.sln builds it.");
        var start = new ProcessStartInfo("dotnet", [dll, .. arguments])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(dll)!,
        };
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (output) { output.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        using var timeout = new CancellationTokenSource(limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"The {arguments[0]} benchmark did not finish within {limit.TotalMinutes} minutes. It printed:\n{output}");
        }
        var text = output.ToString();
        Assert.True(process.ExitCode == 0, $"The {arguments[0]} benchmark exited with {process.ExitCode}. It printed:\n{text}");
        TestContext.Current.TestOutputHelper?.WriteLine(text);
        return text;
    }

    /// <summary>Each of <paramref name="rows"/> starts a printed line followed by a figure.</summary>
    public static void AssertRows(string text, IEnumerable<string> rows)
    {
        var lines = text.Split('\n');
        foreach (var row in rows)
        {
            var line = lines.FirstOrDefault(l => l.StartsWith(row, StringComparison.Ordinal));
            Assert.True(line is not null, $"The row '{row}' is missing. The benchmark printed:\n{text}");
            Assert.True(Number().IsMatch(line[row.Length..]), $"The row '{line}' has no figure.");
        }
    }

    [GeneratedRegex(@"^ *[0-9]+(\.[0-9]+)?( ms| s| %)? *\|")]
    private static partial Regex Number();
}
