namespace Parley.Inference.Tokenization;

/// <summary>Token types as GGUF's tokenizer.ggml.token_type stores them (SentencePiece's numbering).</summary>
public enum TokenType
{
    Undefined = 0,
    Normal = 1,
    Unknown = 2,
    Control = 3,
    UserDefined = 4,
    Unused = 5,
    Byte = 6,
}
