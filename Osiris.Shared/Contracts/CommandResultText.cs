using System.Globalization;
using System.Text.RegularExpressions;

namespace Osiris.Shared.Contracts;

/// <summary>
/// The first line of a <c>run_command</c> result as the model reads it — "exit code N, M ms", or "no exit code
/// (stopped), M ms" — written by the MCP server and read back by the replay brain and by the web for stored results.
/// </summary>
public static partial class CommandResultText
{
    public static string Status(int? exitCode) => exitCode is { } code ? $"exit code {code}" : "no exit code (stopped)";

    public static string Head(int? exitCode, long durationMs) => $"{Status(exitCode)}, {durationMs} ms";

    /// <summary>Reads the head at the start of <paramref name="text"/>; <paramref name="length"/> is how many characters it takes.</summary>
    public static bool TryParseHead(string text, out int? exitCode, out long durationMs, out int length)
    {
        var match = HeadPattern().Match(text);
        exitCode = match.Success && match.Groups[1].Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : null;
        durationMs = match.Success ? long.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
        length = match.Success ? match.Length : 0;
        return match.Success;
    }

    [GeneratedRegex(@"\A(?:exit code (-?\d+)|no exit code \(stopped\)), (\d+) ms")]
    private static partial Regex HeadPattern();
}
