# RuptureLab katılımcı sayfaları: Türkçe.
# Anahtarlar ve { $değişkenler } en.ftl ile aynı kalmalı (bir test denetler).

page-title = { $study } — çalışma
progress = Adım { $n } / { $total }
back = Geri
next = İleri
continue = Devam et

welcome-title = Hoş geldiniz
consent-title = Onam
consent-accept = Katılmayı kabul ediyorum
consent-decline = Kabul etmiyorum
consent-needed = Devam etmeden önce lütfen katılmayı kabul edin.
declined-title = Katılmamayı seçtiniz
declined-body = Teşekkür ederiz. Hiçbir yanıt toplanmayacak. Fikrinizi değiştirirseniz onam sayfasına dönebilirsiniz.
declined-back = Onam sayfasına dön

about-title = Sizinle ilgili
about-intro = Bu sorular mesleki geçmişinizi tanımlar. Adınızla değil, takma bir kodla saklanır.
required = zorunlu
choose = Seçin…
yes = Evet
no = Hayır
field-required = Lütfen bu soruyu yanıtlayın.
field-invalid = Lütfen bu yanıtı kontrol edin.

segment-title = Bölüm { $n } / { $total }
transcript = Döküm
recording = Kayıt
recording-window = { $start } ile { $end } arasını oynatın.
questions = Sorular
scale-hint = { $min } ile { $max } arası

once-title = Birkaç soru daha

review-title = Yanıtlarınızı gözden geçirin
review-intro = Yanıtlarınızı kontrol edin. Göndermeden önce geri dönüp değiştirebilirsiniz.
review-unanswered = yanıtlanmadı
review-change = Değiştir
submit = Yanıtlarımı gönder
submit-warning = Gönderdikten sonra yanıtlarınız değiştirilemez.

thanks-title = Teşekkürler
thanks-body = Yanıtlarınız kaydedildi. Bu pencereyi kapatabilirsiniz.
locked = Yanıtlarınız gönderildi ve artık değiştirilemez.

save-idle = Yanıtlarınız yazdıkça kaydedilir.
save-saving = Kaydediliyor…
save-saved = Kaydedildi
save-error = Henüz kaydedilmedi — yeniden deneniyor. Metniniz burada duruyor.
nojs-hint = Yanıtlarınız İleri ya da Geri düğmesine bastığınızda kaydedilir.

unknown-link-title = Bu çalışma bağlantısı geçerli değil
unknown-link-body = Bağlantının tamamını kopyaladığınızdan emin olun ya da çalışma ekibinden yeni bir bağlantı isteyin.
