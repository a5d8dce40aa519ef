using System.Text.RegularExpressions;

namespace Osiris.McpServer.Sandbox;

/// <summary>
/// Refuses plainly destructive commands before they reach the sandbox. The sandbox would contain them anyway;
/// refusing them says clearly to the model that they are not wanted, instead of letting them wipe the workspace.
/// </summary>
public static partial class CommandPolicy
{
    public static string? Refusal(string command)
    {
        if (RecursiveRemoveOfRoot().IsMatch(command))
        {
            return "Refused by policy: recursive removal of / (or of every top-level folder) is never allowed. Remove specific paths inside the workspace instead.";
        }
        if (ClassicForkBomb().IsMatch(command) || SelfPipingFunction().IsMatch(command))
        {
            return "Refused by policy: this looks like a fork bomb (a function that pipes into itself in the background).";
        }
        if (FilesystemWreckers().IsMatch(command))
        {
            return "Refused by policy: formatting or overwriting disks (mkfs, dd to /dev, shred of devices) is not allowed.";
        }
        return null;
    }

    // rm with -r/-R/--recursive anywhere, aimed at /, /*, --no-preserve-root, ~ or $HOME.
    [GeneratedRegex(@"\brm\s+(?=[^;&|]*(-[a-zA-Z]*[rR]|--recursive))[^;&|]*(--no-preserve-root|\s/\*?(\s|$|[;&|])|\s~/?(\s|$)|\s\$HOME/?(\s|$))")]
    private static partial Regex RecursiveRemoveOfRoot();

    [GeneratedRegex(@":\s*\(\s*\)\s*\{\s*:\s*\|\s*:\s*&\s*\}\s*;?\s*:")]
    private static partial Regex ClassicForkBomb();

    [GeneratedRegex(@"(?<name>[A-Za-z_][\w]*)\s*\(\s*\)\s*\{[^}]*\b\k<name>\s*\|\s*\k<name>\b[^}]*&")]
    private static partial Regex SelfPipingFunction();

    [GeneratedRegex(@"\bmkfs(\.\w+)?\b|\bdd\b[^;&|]*\bof=/dev/(sd|nvme|vd|hd|xvd|mmcblk)|\bshred\b[^;&|]*/dev/")]
    private static partial Regex FilesystemWreckers();
}
