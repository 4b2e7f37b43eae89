"""Images of documents (.png, .jpg, .jpeg, .tif, .tiff): the text recognised (OCR), frame by frame for
multi-page TIFF scans; an image with no text (a photo) is skipped with that reason."""

from __future__ import annotations

from pathlib import Path

from . import ocr
from .model import IMAGE, ReadError, ReadResult, short_error


class ImageReader:
    format = IMAGE
    extensions = (".png", ".jpg", ".jpeg", ".tif", ".tiff")

    def read(self, path: Path) -> ReadResult:
        from PIL import Image, UnidentifiedImageError

        if not ocr.available():
            return ReadResult(path=path, format=self.format, status="skipped",
                              error="text recognition (OCR) is not installed: images cannot be read")
        try:
            image = Image.open(path)
            image.load()
        except UnidentifiedImageError:
            raise ReadError(f"not an image although named {path.suffix}") from None
        except Image.DecompressionBombError:
            raise ReadError("refused: image too large (decompression bomb?)") from None
        except Exception as exc:
            raise ReadError(f"damaged image: {short_error(exc)}") from None
        result = ReadResult(path=path, format=self.format)
        frames = getattr(image, "n_frames", 1)
        budget = ocr.Budget()
        left = []
        for index in range(frames):
            if not budget.take():
                left.append(index + 1)
                continue
            try:
                image.seek(index)
                prefix = f"page {index + 1}, " if frames > 1 else ""
                result.passages.extend(ocr.page_passages(ocr.recognise(image), prefix, index + 1 if frames > 1 else None))
            except MemoryError:
                raise
            except Exception as exc:  # one bad frame of a multi-page scan makes the file partial
                result.warnings.append(f"page {index + 1}: {short_error(exc)}")
        if left:
            result.warnings.append(budget.reason(left))
        if not result.passages and not result.warnings:
            return ReadResult(path=path, format=self.format, status="skipped", error="no text found in the image")
        return result.finish()
