namespace Parley.Inference.Gguf;

/// <summary>
/// The one exception a malformed model file raises: the message names the file, the field that
/// was wrong and what was expected there, so a user can tell a truncated download from a bad quant.
/// </summary>
public sealed class GgufFormatException : Exception
{
    public GgufFormatException(string file, string field, string problem)
        : base($"{Path.GetFileName(file)}: {field}: {problem}")
    {
        File = file;
        Field = field;
    }

    public string File { get; }
    public string Field { get; }
}
