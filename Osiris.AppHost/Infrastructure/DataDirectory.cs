using Microsoft.Extensions.Configuration;

namespace Osiris.AppHost.Infrastructure;

/// <summary>
/// <c>Osiris:DataDir</c>: where local and embedded data live, so that tasks survive a restart.
/// Default: <c>$XDG_DATA_HOME/osiris</c> (usually <c>~/.local/share/osiris</c>); when running as root,
/// <c>/var/lib/osiris</c>, because PostgreSQL runs as the <c>postgres</c> user and cannot enter <c>/root</c>.
/// </summary>
public static class DataDirectory
{
    public const string SettingName = "Osiris:DataDir";

    public static string Resolve(IConfiguration configuration)
    {
        var configured = configuration[SettingName];
        var path = !string.IsNullOrWhiteSpace(configured)
            ? Path.GetFullPath(configured)
            : IsRoot
                ? "/var/lib/osiris"
                : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData), "osiris");

        Directory.CreateDirectory(path);
        if (IsRoot && !OperatingSystem.IsWindows())
        {
            // The postgres user must be able to traverse into its own sub-folder.
            File.SetUnixFileMode(path, File.GetUnixFileMode(path)
                | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        }
        return path;
    }

    public static bool IsRoot => !OperatingSystem.IsWindows() && Environment.UserName == "root";

    /// <summary>A secret kept in the data folder (mode 600), created on first use, so it matches the data it protects.</summary>
    public static string Secret(string dataDir, string name)
    {
        var file = Path.Combine(dataDir, $".{name}");
        if (File.Exists(file))
        {
            return File.ReadAllText(file).Trim();
        }

        var secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24)).ToLowerInvariant();
        File.WriteAllText(file, secret);
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return secret;
    }
}
