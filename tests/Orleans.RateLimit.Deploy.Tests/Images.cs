namespace Orleans.RateLimit.Deploy.Tests;

/// <summary>Container image references: <c>[registry[:port]/]name[:tag][@digest]</c>.</summary>
internal static class Images
{
    /// <summary>Why <paramref name="image"/> does not pin a version, or null when it does (a tag other than latest, or a digest).</summary>
    public static string? TagProblem(string image)
    {
        if (image.Contains('@', StringComparison.Ordinal))
        {
            return null;
        }

        var tag = Tag(image);
        return tag switch
        {
            null => "has no tag",
            "latest" => "uses the tag latest",
            _ => null,
        };
    }

    /// <summary>The name without tag or digest: <c>redis</c> for <c>redis:7.4</c>.</summary>
    public static string Name(string image)
    {
        var end = image.IndexOf('@', StringComparison.Ordinal);
        var withoutDigest = end < 0 ? image : image[..end];
        var colon = TagColon(withoutDigest);
        return colon < 0 ? withoutDigest : withoutDigest[..colon];
    }

    private static string? Tag(string image)
    {
        var colon = TagColon(image);
        return colon < 0 ? null : image[(colon + 1)..];
    }

    // A colon before the last '/' belongs to a registry's port, not to a tag.
    private static int TagColon(string image) =>
        image.IndexOf(':', image.LastIndexOf('/') + 1);
}
