"""Language identification for short chat messages in en, ar, fa, ps and sr.

The script decides the candidates (Cyrillic: Serbian; Arabic script: Arabic, Farsi/Dari,
Pashto; Latin: English, Serbian, and romanised Arabic "Arabizi", Farsi "Finglish" and Pashto).
Within a script, a log-linear score adds up:

- orthography: letters only Pashto has (ټ ډ ړ ږ ښ ګ ڼ ې ۍ ځ څ), letters Arabic keyboards lack
  (ی ک پ چ ژ گ), letters Persian keyboards lack (ي ة ى ك أ), Arabic yeh mixed with Persian
  letters (the Pashto keyboard), the Arabic article, Serbian č ć š ž đ, Arabizi digits;
- words: function and chat words of each language, folded (see `normalise.fold`) so Pashto typed
  on a Persian keyboard (ی for ې/ۍ, ش for ښ, ر for ړ ...) still matches, plus a few Persian and
  Pashto verb shapes and suffixes; for Latin text a naive-Bayes sum over words, with the word
  frequencies of `langidentify`'s English, Croatian and Serbian top-word lists (Serbian
  transliterated, each also without diacritics) and our romanised word lists;
- the `langidentify` n-gram model (it ships inside its wheel: ar/fa/ps for Arabic script, en/hr
  for Latin), weighted by how much text there is, since on one or two words it guesses.

Place names ("Šid", "Beograd", "novi sad") are no evidence of a message's language. A softmax
over the score gives `confidence`; on the NLU examples its calibration error is about 1 %, so
about `confidence` of the messages detected with it are right. Word lists are written from
knowledge of the languages (months, weekdays, countries and currencies included), never copied
from an evaluation set. `bench/nlu/langid_eval.py` measures all of it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from functools import cached_property

from bot.components.normalise import clean, fold
from bot.i18n.script import serbian_script, to_cyrillic, to_latin

CODES = ("en", "ar", "fa", "ps", "sr")
ARABIC_CODES = ("ar", "fa", "ps")
LATIN_CODES = ("en", "sr", "ar", "fa", "ps")

# Weights of the evidence (log-odds units). Set by hand from what each cue means, then a few
# scalars adjusted on the NLU training examples (nlu_data), not on any evaluation set.
W = {
    # Arabic script
    "ps_letter": 3.0,  # each Pashto-only letter, up to three
    "heh_hamza": 1.5,  # ۀ, older Pashto spelling of the final ə
    "not_ar_yk": 3.0,  # ی or ک: no Arabic keyboard has them
    "not_ar_pczg": 2.0,  # پ چ ژ گ: no Arabic keyboard has them
    "gaf_fa": 0.6,  # گ: Persian keyboards; Pashto writes ګ
    "yeh_not_fa": 2.0,  # ي: Persian keyboards write ی
    "yeh_mixed_ps": 2.0,  # ي together with ی/ک/پ/چ/ژ/گ: the Pashto keyboard
    "ar_letter": 1.5,  # ة ى ؤ, each up to three
    "ar_hamza": 2.0,  # أ إ: Persian rarely, Pashto never writes the hamza on alef
    "ps_hamza": 2.0,  # ... so أ إ also count against Pashto
    "ar_kaf": 2.5,  # ك: Persian and Pashto keyboards write ک
    "al": 0.8,  # a word starting with the article ال, up to three
    "lex": 2.0,  # a function or chat word of the language
    "lex_strong": 3.5,  # a word only that language has and that people type a lot
    "fa_verb": 0.9,  # می/نمی + stem + personal ending
    "ps_verb": 1.0,  # -یږم/-یژم etc. on a Persian keyboard
    "ps_suffix": 0.8,  # plural -ونه, oblique -انو/-ونو, agent -ونکی, abstract -توب/-والی/-تیا
    "ps_final_hamza_yeh": 1.5,  # a word ending in ئ: Pashto's 2nd person plural (وکړئ, ورکړئ, شئ)
    "fa_suffix": 0.8,  # plural -های
    "ps_adj_noun": 2.0,  # an adjective in -ي before a currency noun (Pashto word order)
    "ngram": 4.0,  # per unit of langidentify's normalised score gap, at full length
    "ngram_floor": 1.5,  # gaps beyond this add nothing
    "ngram_len": 12.0,  # letters at which the n-gram weight reaches 63 % of its full value
    "prior_fa": 0.15,  # ties lean to Farsi/Dari, but a fa/ps tie stays under 0.55 (language.decide)
    # Latin script
    "roman_lp": -6.0,  # log-probability of a word in a romanised word list
    "roman_weak_lp": -8.5,  # ... of a short word several languages share (na, da, ke, ye)
    "chat_lp": -6.5,  # log-probability of an English or Serbian chat word from our lists
    "floor_lp": -12.5,  # log-probability of a word a language's lists do not have
    "lat_ngram": 2.5,  # per unit of langidentify's en/hr gap, at full length
    "lat_ngram_floor": 2.5,
    "sr_diacritic": 3.0,  # č ć š ž đ outside place names
    "arabizi_digit": 2.0,  # 3ayez, 7ada, la2, sa3edni
    "roman_cue": 0.8,  # a word unknown to English and Serbian shaped like kh/gh/zh, mi-...-am
    "loan_gap": 2.0,  # romanised chat borrows English words: lp(word) >= lp_en(word) - this
    "prior_roman": -1.5,  # romanised ar/fa/ps are rarer than English or Serbian in Latin script
    "prior_roman_ps": -1.5,
    # Calibration
    "temperature": 1.0,
}

_ARABIC_SCRIPT = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]")
_CYRILLIC = re.compile(r"[\u0400-\u04FF]")
_LATIN = re.compile(r"[A-Za-z\u00C0-\u024F]")
_PASHTO_LETTERS = re.compile(r"[ټډړږښګڼېۍځڅ]")
_PERSIAN_LETTERS = re.compile(r"[پچژگ]")
_PERSIAN_YK = re.compile(r"[یک]")
_ARABIC_YEH = re.compile(r"ي")
_ARABIC_LETTERS = re.compile(r"[ةىؤ]")
_SERBIAN_LATIN = re.compile(r"[čćšžđ]")
_TOKEN = re.compile(r"[^\W_]+")
_ARABIC_TOKEN = re.compile(r"[\u0600-\u06FF\u0750-\u077F\uFB50-\uFDFF\uFE70-\uFEFF]+")
_WIFI = re.compile(r"\bwi[- ]fi\b")
_ARABIZI_DIGIT = re.compile(r"^[2378]?[a-z]*[a-z][235679][a-z]|^[2379][a-z]{2,}|[a-z]{2}[2379]$")
_ROMAN_CUES = (
    re.compile(r"^(kh|gh|zh)|[^cs](kh|zh)|ghw"),  # Persian/Arabic/Pashto consonants
    re.compile(r"^(mi|nemi|mey|be|bi|bo)[a-z]{2,}(am|im|id|ad|and|i)$"),  # Persian verbs
    re.compile(r"^(ma|me|mi|mu)[a-z]{2,}(ak|ik|ek)$|^(el|al|il)[a-z]{3,}"),  # Arabic
)

# Function and chat words, folded with normalise.fold when loaded. A word in two lists counts
# for both. "strong" words are frequent in chat and belong to one language only.
_ARABIC_SCRIPT_WORDS: dict[str, str] = {
    "ps": """
        زه ته هغه هغې هغوی دوی موږ مونږ مونږه تاسو تاسې تاسی زما ستا زموږ زمونږ ستاسو ستاسې د دی دي دې ده
        یم یې یو یاست یئ وم وو وه شم شي شې شو شئ شوم شوی شوې شول کړم کړه کړې کړي کړئ کړو کوم کوې کوي
        کوو کوئ کول کولای کولی کیږي کېږي کیدای کېدای غواړم غواړې غواړي غواړو غواړئ غوارم غوړم لرم لرې لري لرو
        لرئ نلرم نلري ورکړه ورکړئ راکړه راکړئ راکړی ووایه ووایاست وایم وایي ځم ځو ځي راشه راځه راشئ پوهیږم
        پوهېږم پوهیګم اوسیږم اوسېږم اوسیږو اوسیژم وژني وژنی ووژني وهي وهل وهلی وهلې
        کې کښې کی ته سره نه لپاره دپاره څخه له په تر پر باندې پورې لاندې پسې ورته راته درته
        ماته تاته ورسره راسره درسره مې مي مو یې مه چې
        څه څنګه سنګه چیرته چېرته چرته چیرې کله ولې څوک څومره څو کوم
        هو ښه ډیر ډېر ډیره ډېره ټول ټوله ټولو اوس دلته هلته بیا نو یوه دا
        ورور وروره ورونو خور خورې پلار ماشوم ماشومان ماشومانو کلي ښار ځای خلک سړی ښځه ښځې
        هلک هلکان نجلۍ پیسې ډوډۍ ډوډی اوبه کالي ناروغ روغتون ډاکټر ملګری ملګرو ملګریه ملګرې کومک
        مننه مهرباني ستړي ستړی پخیر پامان جوړ روغ وږی تږی لوږه تنده زړه ویره ډار وړوکی کوچنی
        ستونزه ستونزې ژر ژبه ژبې پښتو ماښام سهار شپه ورځ ورځې اونۍ میاشت میاشتې کلن کلنه کاله
        یوازې یواځې یوازی کاغذونه دنده ښوونځی ښوونځي پوهنتون ټپي وینه ناجوړ درمل درملتون
        مرسته مرستې مرستی اړتیا اړین خبرې خبره ووژنی وژنم ولاړ ولاړه موندل ومومم
        وری غویی غبرګولی چنګاښ زمری لړم لیندۍ مرغومی سلواغه کب
        يونۍ دونۍ درېنۍ څلرنۍ پينځنۍ اتوار
        ډالر افغانۍ روپۍ کلدارې پونډ
        انګلستان ایټالیا بنګله دېش ناروې سویډن ډنمارک هالنډ فنلنډ پولنډ کاناډا سوډان برتانیه هسپانیه
        ایتوپیا بلغاریه رومانیه کروشیا بوسنیا البانیه بلجیم بیلجیم سویس مکسیکو هنګري سربیایي سربيائي
        ځکه لکه داسې همداسې همدا همدې همدارنګه دغه دغو دغې هغو هغې ددې دهغه خپل خپله خپلو خپلې ځان
        ځینې ځيني بله نورو نوره ټولې ټولو هره ډول توګه ډېری ډیری لږ ډېر خورا پرته لخوا لوري ترمنځ منځ
        منځه شاوخوا وړاندې وروسته مخکې نږدې پرې ترې پکې ورباندې دننه اړه امله لامل پسې پورته کښته
        راهیسې راهېسې ورځنۍ
        وو وې وه شوه شول شوي شوې کېږي کیدل کېدل کېدو کیدو کېده کاوه کوله کول کولو کړ کړل
        وکړ وکړه وکړل وکړي ولري درلود لري لرل ويل وویل وايي وائي ووایه راغی راغلل لاړ لاړه لاړل
        ورکړ ورکړل ورکړي ترسره ترلاسه رامنځته پیژندل پېژندل جوړ جوړه جوړول جوړولو کارول ګڼل
        کال کلونو کلنۍ نیټه نېټه وخت مهال ځل پېړۍ پیړۍ نن پرون سبا بېګا پرونۍ
        نوم برخه برخې برخو مخ مخې لاس لاسه لار لاره لارې خوا ځمکه ځمکې ژوند کورنۍ مور زوی لور
        هېواد هیواد هېوادونو هیوادونو ولسمشر ولسوالۍ ګوند ډله ډلې ځواک ځواکونه ځواکونو سوله جګړه
        جګړې مشر مشران مشرانو لوی لوړ غوره ختیځ لوېدیځ لویدیځ نړۍ نړیوال نړیوالو ټولنه ټولنې پوهنه
        لیکوال لیکنه شاعر
    """,
    "fa": """
        من تو شما ایشان انها آنها اونا اونها است هست هستم هستی هستیم هستید هستن هستند نیست نیستم نیستیم
        استم استی استیم استین اس میخواهم میخوام میخام میخایم میخواهیم میخوایم میخواستم میتوانم میتونم میتانم
        میتونی میشه میشود نمیشه نمیدانم نمیدونم نمیفهمم نمیخوام میکنم میکنی میکنه میکنن میکنند میدن میدهند
        میرم میریم میگیرم بلد کجا کجاست کجاس کجه چطور چطوری چطوره چگونه چرا چی چه چند کی کدام کدوم را رو
        از با در برای بری برا یک یه این اون اینجا آنجا اونجا همین همون هیچ دیگه دیگر
        دارم داری داره داریم دارید دارن ندارم نداریم نداره کنم کنید کن بکن بکنم بکنید کردم کرد کردن کرده
        شد شده شدم شدیم شدن بود بودم بودیم بخوابم بخوابیم خواب خوب خوبم خوبی خیلی زیاد لطفا لطفاً
        ممنون ممنونم مرسی خداحافظ خدافظ بله آره اره نخیر کمک همراه جای جا پول غذا نان لباس بچه بچه‌ها
        بچم بچه‌ام مادر پدر برادر خواهر خانواده شوهر بیمارستان سرد گرسنه
        گشنه تشنه خسته میترسم ترس بگیرم بده بدید بگو بگید بنویس حرف صحبت زبان فارسی دری انگلیسی ساله سالمه
        تنها تنهام برو رفتم آمدم امدم اومدم گم کشتن میکشم میکشن میزنن زدن مه مره ره کتی یگان بیخی نه
        چطو اینه اینا
        ژانویه فوریه آوریل ژوئن ژوئیه اوت سپتامبر اکتبر نوامبر دسامبر
        فروردین اردیبهشت خرداد مرداد شهریور آبان بهمن اسفند
        تومان
        آلمان اسپانیا ژاپن بنگلادش تاجیکستان بلغارستان مجارستان نروژ سوئد دانمارک هلند بلژیک سوئیس
    """,
    "ar": """
        انا أنا انت إنت انتي انتى هو هي نحن احنا إحنا نحنا انتم انتو هذا هذه هاد هادا هاذا هاذي ذلك تلك اللي
        الذي التي الذين في على الى إلى عن مع عند عندي عندك عندنا ماذا شو شنو ايش إيش وش ليش ليه لماذا
        كيف كيفك كيفكم شلون شلونك وين فين أين اين متى امتى إمتى قديش قداش بدي بدنا بدك بدها ابغى ابغي ابي
        أبي اريد أريد نريد عايز عاوز عايزة بغيت نبغي حاب لو سمحت فضلك رجاء رجاءا شكرا شكراً مشكور
        العافية يا ياخي اخي أخي اخوي يخوي حبيبي والله ايوه ايوا إيه ايه اي نعم لا لأ مش مو مافي ماكو
        اكو كاين ماكاينش ديال دابا بزاف واش شي شيء كل حالا هلأ هلق هسه هسا هنا هون هناك هنيك كمان
        ايضا أيضا لسه لسا السلامة مرحبا أهلا اهلا الخير صباح مساء تمام منيح كويس زين مزبوط ماشي خلاص يلا
        طيب دكتور طبيب مستشفى مشفى صيدلية دواء محامي سكن مأوى اكل أكل طعام ماء ملابس مدرسة مدرسه شغل
        مساعدة مساعده ساعدني ساعدوني ساعدونا اطفال أطفال ولاد بنت بنتي ابني امي أمي ابوي عيلة عائلة عيلتي
        اهلي مرتي زوجي زوجتي اموت بموت خايف خايفة عطشان جوعان جوعانين بردان تعبان يوجع وجع لاجئ لجوء
        اوراق أوراق معلوماتي رقمي امسح احذف مترجم ترجمة يهددني ضربني نام انام ننام من له ده دا
        صح صحيح ابدا أبدا غلط واخا الخيارات حقوقي اهلين اه ههه بدو بدها عم رح راح هيك
        يناير فبراير أبريل ابريل مايو يونيو يوليو أغسطس اغسطس سبتمبر أكتوبر اكتوبر نوفمبر ديسمبر
        كانون شباط آذار نيسان أيار حزيران تموز أيلول تشرين
        الأحد الاحد الاثنين الإثنين الثلاثاء الأربعاء الاربعاء الخميس الجمعة السبت
        جنيه ليرة
        الولايات المتحدة المملكة ألمانيا المانيا فرنسا إسبانيا اسبانيا إيطاليا ايطاليا روسيا الصين
        اليابان الهند باكستان تركيا السعودية العراق سوريا الأردن الاردن المغرب الجزائر تونس ليبيا
        اليمن السودان الصومال أفغانستان صربيا اليونان بلغاريا النمسا المجر
        العربية الإنجليزية الانجليزية الفارسية البشتو الصربية
    """,
}
_ARABIC_SCRIPT_STRONG: dict[str, str] = {
    "ps": """کښې یم یاست غواړم غواړې غواړي غوارم لرم لري څنګه سنګه سنگه چیرته چېرته چرته ولې
             مننه ورور وروره ستړي ډېر ډیر لپاره څخه شته نشته دلته هلته ماته راته یوازې ماشوم اوسیږم
             کوم کوي کړه راکړه پوهیږم ښه زما ستا موږ مونږ تاسو زه هغه په""",
    "fa": """است هست هستم هستی نیست نیستم میخواهم میخوام میخام میخایم میتونم میتانم میشه کجا کجاست کجاس
             چطور چطوری چرا از برای دارم داری ندارم خیلی ممنون ممنونم بله آره اره لطفا میکنم نمیدونم
             نمیدانم این اون اینجا شما استم""",
    "ar": """انا أنا انت إنت هذا هذه في الى إلى عن مع عندي ماذا شنو ايش وين فين كيف كيفك شلون
             بدي بدنا ابغى اريد أريد عايز عاوز بغيت شكرا ليش ليه مافي ماكو اكو نعم لا مش هون هنا
             ساعدني مساعدة يلا خلاص اللي ايوه""",
}
# Romanised (Latin-script) words, lower case, as people type them in chat.
_ROMAN_WORDS: dict[str, str] = {
    "ar": """
        ana ena enta inta enti inti howa hiya e7na i7na ahna ehna bdi bde baddi biddi bidi badi abgha abi
        ubi 3ayez 3ayz 3awz 3ayza 3awez bghit bgheet nbghi 3andi 3ndi andi 3andak fi fee mafi mafeesh mafish
        mish msh mesh mush wen wein fen fein feen fayn wayn shu shou shoo esh eish lesh leish leh kif keef
        kaif kifak kifik keefak kifkon shlon shlonak shlonek ezzay ezay izzay izay imta emta adesh 2adesh
        yalla yallah akhi akhoya khoya ya3ni yani habibi habibti wallah wallahi walla inshallah inchallah
        mashallah alhamdulillah hamdulillah marhaba mar7aba ahlan sahlan shukran shokran choukran chokran
        shukriya aywa aiwa aywah na3am la2 laa mumkin momken mumken mumkn law samaht sama7t fadlak fadlik
        ma3a ma3 m3a salama bslama bsalama tabib tbib duktor mosta4fa mostashfa mustashfa moustachfa akl akel
        mai moya shoghl sho8l shughl madrase madrasa mo7ami mu7ami muhami sa3edni sa3dni sa3dona sa3idni
        musa3ada mosa3ada khatar kh6ar bmoot bmout mout amoot tayhin ta2hin ghabe ghaba wa7ed wa7da wa7di
        lwa7di 7ada 7ad ahli 3ayelti 3ayle ra2m ra2mi is3af es3af bsor3a bsur3a ma3lomati ma3lomat imsa7
        i7zef e7zef ktir kteer ktiir bzaf bzzaf chwiya daba dyal dial wesh wach kayn kayna hon hun hena hna
        hnak henak hadi hada hadol hatha hadha haidi haida haydi 3arabi 3la 3ala 3an 3end 3ind wala aktar
        akthar ba3d lissa lesa hala2 halla2 hallaq el jaw bukra bokra a7ki e7ki nhder nhdar akallem akalem
        insan 3omri omri jit ma3i ma3ak tsa3edni ash kat3ref dir ashtri sigara tbib khrin baddi jibuli
        dakhilkom khalas 7ada ye7ki shi 3anni kol plz3 shi2 iwa akid akeed sahbi sa7bi mabghitch mabghit
    """,
    "fa": """
        man mn shoma oo un oon inja unja anja injas koja kojast kojas kuja chiye chera chetor chetori
        chetore chejuri chand kodom kodam baraye barye bara bary ro ra az dar yek yeki hast hastam hasti
        hastim hastid hastan hastin nist nistam nis neest ast mikham mikhaam mikhay mikhad mikhaim mikhastam
        mikhaym mikhayim mitonam mitunam mitonim mitoni mitooni mitoonam mishe mishod mishavad nemikham
        nemidonam nemidunam nemifahmam midan midin midonam midoonam mikonam mikoni mikone mikonid mikonan
        mizanan mizanand miram mirim miay biya boro bezan bekon kon konid bokon bede bedid begir begid begoo
        bego benevis benivis bezanam bekhabam bekhabim bekhaabam khab khaab khob khoob khub khube khubi khoobi
        kheili khaili kheyli khyli ziad ziyad lotfan mamnoon mamnun mamnunam tashakor tashakkor
        sepas khodahafez khodafez khoda hafez bale baleh areh nakheir nakhair komak komaak kumak daram dare
        darim darid daran nadaram nadarim lazem niaz niyaz dardam mariz bimar bimarestan daktar dawa darou
        daru ghaza ghazaa lebas kafsh pool pul kaar karo bache bacheha bachaha bachem madar pedar baradar
        khahar khanevade famil shohar tanha tanham tanhayi salame salamet hame hamash hamechi chiz chizi
        emruz emrooz farda dishab emshab alan hala gom shodam shodim shod shode kardam kard kardan kardi
        zadan zadand koshtan bekosham khodamo bemiram mimiram mitarsam tars sard sarde garm gorosne goshne
        teshne khaste hazf payam payamamo shomare shomareh polis vakil wakil motarjem tarjoman ravanshenas
        madrese maktab ejaze kart panahande panahandegi ghachagh ghachaghe peyda farsi parsi inglisi ingilisi
        havaa hava didi adam vaghei harf bezanam nafar lotf hatman emruz befrest bishtar vaslam ensan
        dadash aslan zood zud befrestid chande chanda pak konin shafakhana malumat malumatamo
    """,
    "ps": """
        za zma zama zmaa tasu taso sta staa stasu mung mong moong dai yam yum yast yaast shta nishta nesta
        nshta kawam kawal kawi kawey kawalay kawalai kawali kaway kram kra kre kri krai shwe shawe shwi
        ghwaram ghwarum ghwari ghwaro ghwarai gwaram laram lari laro larai nalaram kay pa lapara lapaara tsakha
        tsanga sanga chirta cherta chiri chere kala wale wali tsok sumra tsumra wror wrora wrore wrunu khor
        khore plar pelar kor kaley dodai doday obe naroogh naroog rogh roogh jor khair khuda khudai pamaan
        pa aman manana dera stari stare stary mashe kalan kalana kaal yawazi yawazai yawaze yawa dwa dre
        salor pinza wroste dalta halta khabare khabara wahi wahay wahal wazhni wazhnam wazhi pakhto pukhto
        angrezi lutfan serbi gooro nor ghwaro ao tashakor komak kumak wakil daktar shay shai wraz wradz
        zar zhar pakar olika olikai wakeel
    """,
}
_GREETINGS = " salam salaam slm salamalekum assalamu asalam alaikum alaykum alikum aleikum alekum walaikum"
_ROMAN_WEAK_WORDS: dict[str, str] = {
    "ar": "el al la ma ya fi b w wa min ala merci mersi" + _GREETINGS,
    "fa": "chi che ke ki va ba be ye to in na ne dar ro ra bia are insan merci mersi" + _GREETINGS,
    "ps": "de da ta ke sa ho aw na ye she ma pa bia za insan nan" + _GREETINGS,
}
# English and Serbian chat words that the top-word lists of langidentify miss (Serbian there is
# Croatian, and with its diacritics).
_CHAT_WORDS: dict[str, str] = {
    "en": """
        pls plz thx tnx u ur im dont cant wont wanna gonna gotta pleaseee hii hiii lol omg bro sis
        okay ok bye thanks thank yes yeah yep nope hello hey where need help doctor sleep food wifi ya
        english arabic persian farsi dari pashto serbian croatian bosnian albanian somali kurdish urdu
        turkish french german russian chinese bengali afghan syrian iraqi iranian pakistani
        afghanistan syria iraq iran pakistan tunisia morocco algeria egypt somalia eritrea bangladesh
        serbia bulgaria hungary croatia bosnia greece turkey austria germany
        monday tuesday wednesday thursday friday saturday sunday january february march april may
        june july august september october november december dollar euro pound dinar
    """,
    "sr": """
        gde gdje sta šta sto što kako ima nema treba trebam trebaju moze može mogu mozes možeš hocu hoću
        necu neću zelim želim imam nemam jel jeli da ne hvala fala molim pomoc pomoć pomozite pomagajte
        zdravo cao ćao ajde ajd bre brate dobro dobar dan vece veče jutro noc noć laku smestaj smeštaj
        hrana lekar doktor bolnica policija deca dece dete porodica brat sestra majka otac zena žena muz muž
        gladan gladna zedan žedan hladno bojim hitno hitna hitnu koji koja koje kada kad zasto zašto ovde
        ovdje tamo sad sada jos još vise više malo mnogo puno evo ovo taj za od do iz sa kod po kroz bez ali
        ili ako sve nista ništa niko neko nesto nešto mene meni tebi tebe nas vas njih moj moja moje tvoj
        sam si je smo ste su li u na se mi me te ga nam vam bio bila bili vecno mesto mjesto spavam spavanje
        jesti jelo voda odeca odeća skola škola posao posla radim izbrisi izbriši obrisi obriši podatke
        ljudi covek čovek covjek čovjek godina godine imam sati sutra danas veceras večeras gradu grad
        novembar januar februar mart april maj jun jul avgust septembar oktobar decembar
        ponedeljak utorak sreda cetvrtak četvrtak petak subota nedelja dinar evro engleski srpski arapski
        persijski paštu pastu kurdski turski nemački nemacki francuski ruski
        avganistan sirija irak iran pakistan tunis maroko alžir alzir egipat somalija eritreja
        bangladeš banglades srbija bugarska mađarska madjarska hrvatska bosna grčka grcka turska
        austrija nemačka nemacka
    """,
}
# Places in Serbia people name in any language; they are no evidence of the message's language.
_PLACE_NAMES = [
    "beograd", "belgrade", "belgrad", "šid", "sid", "shid", "subotica", "sombor", "kikinda", "horgoš", "horgos",
    "horgosh", "kanjiža", "kanjiza", "preševo", "presevo", "preshevo", "bujanovac", "vranje", "niš", "nis", "nish",
    "pirot", "dimitrovgrad", "obrenovac", "krnjača", "krnjaca", "adaševci", "adasevci", "principovac", "sjenica",
    "sienica", "tutin", "bogovađa", "bogovadja", "loznica", "koviljača", "koviljaca", "lajkovac", "palanka", "divljana",
    "miratovac", "novisad", "kraljevo", "savamala", "vojvodina", "zemun", "zrenjanin", "čačak", "cacak", "kragujevac",
    "bosilegrad", "sombor",
]
_PLACES = frozenset(_PLACE_NAMES) | frozenset(to_cyrillic(p) for p in _PLACE_NAMES)
# Names of several words (and organisations) that are no evidence either; replaced by one place.
_PLACE_PHRASES = re.compile(
    r"\b(novi\s*sad|нови\s*сад|bela\s+palanka|бела\s+паланка|banja\s+koviljač?c?a|бања\s+ковиљача"
    r"|red\s+cross|crveni\s+krst|црвени\s+крст)\b")
_ELONGATED = re.compile(r"(\w)\1{2,}")
# Pashto words told from their Persian cousins by the spelling alone (Pashto's final ي where Persian
# writes ی, ګ where Persian writes گ): matched unfolded. Words Arabic spells the same way are left out.
_PASHTO_SPELLING_WORDS = """
    وي دي شوي کړي لري کوي سیاسي ملي ټولنیز جرمني فرانسوي هسپانوي ترکي چینايي جاپاني انګلیسي انګريزي
    انګرېزي بنګالي کوردي سربي ازبکي ترکمني بلوڅي پرتګالي ایټالوي جنوري فبروري اګست امریکايي ایراني
    افغاني پاکستاني سعودي اروپايي اروپایي ګډ ګډون ګټه ګام ګران ګرځي ګوري ګورم ګڼه ښځه ښکلی
"""
_PASHTO_SPELLINGS = frozenset(_PASHTO_SPELLING_WORDS.split())
_ARABIC_LEX = {code: frozenset(map(fold, words.split())) for code, words in _ARABIC_SCRIPT_WORDS.items()}
_ARABIC_STRONG = {code: frozenset(map(fold, words.split())) for code, words in _ARABIC_SCRIPT_STRONG.items()}
_ROMAN = {code: frozenset(words.split()) for code, words in _ROMAN_WORDS.items()}
_ROMAN_WEAK = {code: frozenset(words.split()) for code, words in _ROMAN_WEAK_WORDS.items()}
_CHAT = {code: frozenset(words.split()) for code, words in _CHAT_WORDS.items()}
# Greetings and courtesies everyone who writes Arabic script types: the n-gram model's guess on
# them says nothing (their spelling, e.g. ك or ی in "علیکم", still does).
_SHARED_ARABIC = frozenset(fold(w) for w in [
    "سلام", "السلام", "سلامونه", "علیکم", "عليكم", "علیکم", "وعلیکم", "هلو", "های", "هاي", "بای", "باي", "اوکی", "اوكي",
    "مرسی", "مرسي", "الله", "انشالله", "ان\u200cشاءالله", "ماشالله", "الحمدلله", "خدا", "حافظ",
])
_FA_VERB = re.compile(r"^ن?(می|مي)..+(م|ی|ه|یم|ید|ند|ن|د|ین)$")
# plurals -ونه, oblique -انو/-ونو; agent nouns -ونکی; abstract nouns -توب, -والی, -تیا; perfective و
# before و: ووایه, وواهه (folded: ې and ۍ are ی)
_PS_SUFFIX = re.compile(r"...(ونه|انو|ونو)$|..(ونکی|ونکو|توب|توبونه|والی|تیا)$|^وو..")
_PS_2PL = re.compile(r"^(?!ال).+[^جطد]ئ$")
_ARABIC_ONLY = re.compile(r"[كةىأإ]")
_FA_SUFFIX = re.compile(r"..های$")
_PS_VERB = re.compile(r"(یژ|یږ|یگ)(م|ی|و|ئ|ه)$")
_CURRENCY = frozenset(map(fold, ["دينار", "ريال", "ډالر", "دالر", "يورو", "روپۍ", "روپيه", "پونډ", "ليره", "درهم"]))
_ADJ_YEH = re.compile(r"..(ي|ی|ۍ)$")


@dataclass(frozen=True)
class Detection:
    code: str | None  # None when the text has no letters to judge by
    confidence: float
    script: str | None  # "latn"/"cyrl" for Serbian text
    words: int
    scores: dict[str, float] = field(default_factory=dict)


class LanguageDetector:
    """Stateless detector; the n-gram models and word lists load on first use (about 2 s with the
    lite models that the `langidentify` wheel ships; the optional `langidentify-full-model`
    package, used for Arabic script when installed, takes about 8 s and 170 MB more)."""

    def __init__(self, arabic_model: str = "auto", latin_model: str = "lite") -> None:
        # langidentify's "lite" or "full" model for each script; "auto": full when installed
        self.arabic_model = arabic_model
        self.latin_model = latin_model
        self._ready = False

    def warm_up(self) -> None:
        """Load the models and word lists now rather than on the first message."""
        self._ngram_arabic  # noqa: B018
        self._latin_words  # noqa: B018
        self._ready = True

    @staticmethod
    def _load(codes: str, variant: str):  # type: ignore[no-untyped-def]
        from langidentify import Detector, Language, Model

        languages = Language.from_comma_separated(codes)
        if variant == "lite":
            return Detector(Model.load_lite(languages))
        if variant == "full":
            return Detector(Model.load_full(languages))
        return Detector(Model.load(languages))

    @cached_property
    def _ngram_arabic(self):  # type: ignore[no-untyped-def]
        return self._load("ar,fa,ps", self.arabic_model)

    @cached_property
    def _ngram_latin(self):  # type: ignore[no-untyped-def]
        return self._load("en,hr", self.latin_model)

    @cached_property
    def _latin_words(self) -> dict[str, tuple[float, float]]:
        """Word -> (English, Serbian) log-probability from langidentify's top-word lists: English;
        Croatian and Serbian (its Cyrillic list transliterated), each also without diacritics."""
        model = self._ngram_latin.model
        words: dict[str, tuple[float, float]] = {}

        def add(word: str, en: float, sr: float) -> None:
            old = words.get(word, (-math.inf, -math.inf))
            words[word] = (max(old[0], en), max(old[1], sr))

        codes = [lang.iso_code for lang in model.languages]
        for word, entry in model.topwords_table.items():
            if not isinstance(entry, tuple):
                continue  # skip-word marker
            en = sr = -math.inf
            for index, prob in zip(*entry, strict=False):
                if codes[index] == "en":
                    en = float(prob)
                else:
                    sr = float(prob)
            add(word, en, sr)
            if sr > -math.inf and word.translate(_STRIP_SERBIAN) != word:
                add(word.translate(_STRIP_SERBIAN), -math.inf, sr)
        for word, prob in _serbian_topwords(self.latin_model):
            if len(word) < 3:
                continue  # the short ones are in the Croatian list, and "a", "i" are English too
            latin = to_latin(word)
            add(latin, -math.inf, prob)
            add(latin.translate(_STRIP_SERBIAN), -math.inf, prob)
        return words

    def ngram_scores(self, text: str) -> dict[str, float]:
        """langidentify's normalised scores: ar/fa/ps for text with Arabic script, otherwise en/sr
        (Croatian counted as Serbian); 0 for the best, negative for the others."""
        detector = self._ngram_arabic if _ARABIC_SCRIPT.search(text) else self._ngram_latin
        detector.detect(text)
        results = detector.results
        langs = detector.model.languages
        raw: dict[str, float] = {}
        for lang, score in zip(langs, results.total_scores, strict=False):
            code = "sr" if lang.iso_code == "hr" else lang.iso_code
            if score != 0.0:  # 0.0 marks a language of another alphabet
                raw[code] = max(raw.get(code, -math.inf), float(score))
        if not raw:
            return {}
        top = max(raw.values())
        return {code: score - top for code, score in raw.items()}  # 0 for the best, negative for others

    def detect(self, text: str) -> Detection:
        if not self._ready:
            self.warm_up()  # everything at once: the first message pays, not a later one
        text = _ELONGATED.sub(r"\1", clean(text or ""))  # "salaaaam", "pleaseee"
        lowered = _WIFI.sub("wifi", text.lower())
        tokens = [t for t in _TOKEN.findall(lowered) if not t.isdigit()]
        n_words = len(tokens)
        # Place names (and a few organisations) say nothing of the message's language: count the
        # letters of the other words, unless there are none.
        named = [t for t in _TOKEN.findall(_PLACE_PHRASES.sub(" novisad ", lowered)) if not t.isdigit()]
        content = [t for t in named if t not in _PLACES] or named
        arabic, cyrillic, latin = (sum(len(p.findall(t)) for t in content)
                                   for p in (_ARABIC_SCRIPT, _CYRILLIC, _LATIN))
        if arabic == cyrillic == latin == 0:
            return Detection(None, 0.0, None, n_words)
        # An Arabic-script letter carries more (short vowels are not written): weigh it 1.5.
        if cyrillic and cyrillic >= max(1.5 * arabic, latin):
            confidence = 0.99 if cyrillic >= 6 else 0.9 if cyrillic >= 3 else 0.75
            return Detection("sr", confidence, "cyrl", n_words, _onehot("sr", confidence))
        if arabic and 1.5 * arabic >= latin:
            logits = self._arabic_script(text)
        else:
            logits = self._latin_script([t for t in named if _LATIN.search(t)])
        scores = _softmax(logits, W["temperature"])
        code = max(scores, key=lambda c: scores[c])
        script = serbian_script(text) if code == "sr" else None
        return Detection(code, round(scores[code], 3), script, n_words, scores)

    # --- Arabic script: ar, fa, ps -------------------------------------------------------

    def _arabic_script(self, text: str) -> dict[str, float]:
        logits = {"ar": 0.0, "fa": W["prior_fa"], "ps": 0.0}
        words = _ARABIC_TOKEN.findall(text)

        pashto = len(_PASHTO_LETTERS.findall(text))
        logits["ps"] += W["ps_letter"] * min(pashto, 3) + W["heh_hamza"] * min(text.count("ۀ"), 1)
        persian_yk = bool(_PERSIAN_YK.search(text))
        persian_pczg = bool(_PERSIAN_LETTERS.search(text))
        if persian_yk:
            logits["ar"] -= W["not_ar_yk"]
        if persian_pczg:
            logits["ar"] -= W["not_ar_pczg"]
        logits["fa"] += W["gaf_fa"] * min(text.count("گ"), 2)
        if _ARABIC_YEH.search(text):
            logits["fa"] -= W["yeh_not_fa"]
            if persian_yk or persian_pczg:
                logits["ps"] += W["yeh_mixed_ps"]
        logits["ar"] += W["ar_letter"] * min(len(_ARABIC_LETTERS.findall(text)), 3)
        if "ك" in text:
            logits["ar"] += W["ar_kaf"]
        if "أ" in text or "إ" in text:
            logits["ar"] += W["ar_hamza"]
            logits["ps"] -= W["ps_hamza"]
        logits["ar"] += W["al"] * min(sum(1 for w in words if w.startswith("ال") and len(w) >= 4), 3)

        folded = [fold(w) for w in words]
        for code in ARABIC_CODES:
            lex, strong = _ARABIC_LEX[code], _ARABIC_STRONG[code]
            for w in folded:
                if w in strong:
                    logits[code] += W["lex_strong"]
                elif w in lex:
                    logits[code] += W["lex"]
        logits["ps"] += W["lex"] * sum(1 for w in words if w in _PASHTO_SPELLINGS)
        fa_verbs = sum(1 for w in folded if _FA_VERB.match(w) and w not in _ARABIC_LEX["ps"])  # not میاشتې
        logits["fa"] += W["fa_verb"] * min(fa_verbs, 2)
        # Pashto's 2nd person plural ends in ئ (وکړئ, شئ, وګورئ); Persian writes ئ inside words only,
        # Arabic at the end of a few (لاجئ, شاطئ, هادئ), typed with ك and ال around them
        if not _ARABIC_ONLY.search(text):
            logits["ps"] += W["ps_final_hamza_yeh"] * min(sum(1 for w in words if _PS_2PL.search(w)), 1)
        logits["ps"] += W["ps_verb"] * min(sum(1 for w in folded if _PS_VERB.search(w)), 2)
        logits["ps"] += W["ps_suffix"] * min(sum(1 for w in folded if _PS_SUFFIX.search(w)), 2)
        logits["fa"] += W["fa_suffix"] * min(sum(1 for w in folded if _FA_SUFFIX.search(w)), 2)
        for first, second in zip(words, words[1:], strict=False):  # "عراقي دينار": adjective first, as in Pashto
            if fold(second) in _CURRENCY and _ADJ_YEH.search(first):
                logits["ps"] += W["ps_adj_noun"]

        telling = [w for w, f in zip(words, folded, strict=True) if f not in _SHARED_ARABIC]
        if telling:
            ngram = self.ngram_scores(" ".join(telling))
            weight = W["ngram"] * (1.0 - math.exp(-sum(len(w) for w in telling) / W["ngram_len"]))
            for code in ARABIC_CODES:
                logits[code] += weight * max(ngram.get(code, -W["ngram_floor"]), -W["ngram_floor"])
        return logits

    # --- Latin script: en, sr and romanised ar, fa, ps -----------------------------------------

    def _latin_script(self, tokens: list[str]) -> dict[str, float]:
        logits = {"en": 0.0, "sr": 0.0, "ar": W["prior_roman"], "fa": W["prior_roman"],
                  "ps": W["prior_roman_ps"]}
        content = [t for t in tokens if t not in _PLACES and t != "novisad"] or tokens
        known = self._latin_words
        floor = W["floor_lp"]
        for token in content:
            plain = token.translate(_NO_DIGITS)
            if not plain:
                continue
            lp = {code: floor for code in LATIN_CODES}
            en, sr = known.get(plain, (floor, floor))
            lp["en"], lp["sr"] = max(en, floor), max(sr, floor)
            for code in ("en", "sr"):
                if plain in _CHAT[code]:
                    lp[code] = max(lp[code], W["chat_lp"])
            for code in ("ar", "fa", "ps"):
                if token in _ROMAN[code] or plain in _ROMAN[code]:
                    lp[code] = W["roman_lp"]
                elif plain in _ROMAN_WEAK[code]:
                    lp[code] = W["roman_weak_lp"]
            for code in ("ar", "fa", "ps"):
                lp[code] = max(lp[code], lp["en"] - W["loan_gap"])
            if _ARABIZI_DIGIT.search(token) and lp["en"] < -9.0:
                lp["ar"] = max(lp["ar"], W["roman_weak_lp"])
                logits["ar"] += W["arabizi_digit"]
            if lp["en"] < -9.0 and lp["sr"] < -9.0:
                cues = sum(1 for cue in _ROMAN_CUES if cue.search(plain))
                for code in ("ar", "fa", "ps"):
                    logits[code] += W["roman_cue"] * min(cues, 1)
            top = max(lp.values())
            for code in LATIN_CODES:
                logits[code] += lp[code] - top
        if any(_SERBIAN_LATIN.search(t) for t in content if t not in _PLACES):
            logits["sr"] += W["sr_diacritic"]
        text = " ".join(t for t in content if not t.isdigit())
        if text:
            ngram = self.ngram_scores(text)
            letters = sum(len(t) for t in content)
            weight = W["lat_ngram"] * (1.0 - math.exp(-letters / W["ngram_len"]))
            for code in ("en", "sr"):
                logits[code] += weight * max(ngram.get(code, -W["lat_ngram_floor"]), -W["lat_ngram_floor"])
        return logits


_NO_DIGITS = str.maketrans("", "", "0123456789")
_STRIP_SERBIAN = str.maketrans({"č": "c", "ć": "c", "š": "s", "ž": "z", "đ": "dj"})


def _serbian_topwords(variant: str) -> list[tuple[str, float]]:
    """langidentify's Serbian (Cyrillic) top words with their log-probabilities, read from the
    file its wheel ships (the model leaves them out when Serbian is the only Cyrillic language)."""
    import gzip
    from importlib import resources

    packages = ["langidentify.models.lite"] if variant == "lite" else []
    packages += ["langidentify_full_model.data", "langidentify.models.full", "langidentify.models.lite"]
    for package in packages:
        try:
            ref = resources.files(package).joinpath("topwords-sr.txt.gz")
            if not ref.is_file():
                continue
            with gzip.open(ref.open("rb"), "rt", encoding="utf-8") as handle:
                pairs = []
                for line in handle:
                    if line.startswith("#"):
                        continue
                    word, _, prob = line.rstrip("\n").rpartition(" ")
                    if word:
                        pairs.append((word, float(prob)))
                return pairs
        except (ModuleNotFoundError, FileNotFoundError, ValueError):
            continue
    return []


def _onehot(code: str, confidence: float) -> dict[str, float]:
    rest = (1.0 - confidence) / (len(CODES) - 1)
    return {c: (confidence if c == code else rest) for c in CODES}


def _softmax(logits: dict[str, float], temperature: float = 1.0) -> dict[str, float]:
    top = max(logits.values())
    exp = {c: math.exp((v - top) / temperature) for c, v in logits.items()}
    total = sum(exp.values())
    scores = {c: 0.0 for c in CODES}
    scores.update({c: v / total for c, v in exp.items()})
    return scores


_SHARED: list[LanguageDetector] = []


def shared_detector() -> LanguageDetector:
    """One detector per process (its models take seconds and tens of MB to load); it is stateless."""
    if not _SHARED:
        _SHARED.append(LanguageDetector())
    return _SHARED[0]


SWITCH_CONFIDENCE = 0.8
FIRST_CONFIDENCE = 0.55
CHOICE_CONFIDENCE = 0.4


def decide(detected: str | None, confidence: float, n_words: int, current: str | None,
           explicit: str | None) -> str | None:
    """The language the conversation should continue in, or None to leave it as it is."""
    if explicit:
        return explicit
    if detected is None:
        return None
    if current is None:
        return detected if confidence >= FIRST_CONFIDENCE else None
    if detected == current:
        return None
    if n_words >= 3 and confidence >= SWITCH_CONFIDENCE:
        return detected
    return None


FOREIGN_LATIN = "fr,de,es,it,pt,nl,tr,pl,ro,sq,so"  # Latin-script languages people may write that we do not speak
FOREIGN_GAP = 0.15


class ForeignLanguageDetector:
    """Recognises a Latin-script message in a language the assistant does not speak (French, Turkish, Somali...).

    The main detector only chooses among our five languages, so a French sentence would read as
    Serbian; this second opinion lets the assistant answer in English with the language buttons.
    """

    def warm_up(self) -> None:
        """Load the model now rather than on the first message."""
        self._detector  # noqa: B018

    @cached_property
    def _detector(self):  # type: ignore[no-untyped-def]
        from langidentify import Detector, Language, Model

        return Detector(Model.load(Language.from_comma_separated(f"en,hr,{FOREIGN_LATIN}")))

    def foreign(self, text: str) -> str | None:
        """The other language's code when the text (3+ words, Latin script) is clearly in one; else None."""
        text = clean(text or "")
        if len(re.findall(r"[^\W\d_]{2,}", text)) < 3 or len(_LATIN.findall(text)) < len(text.replace(" ", "")) * 0.6:
            return None
        if re.search(r"[a-z][235679]|[235679][a-z]", text.lower()):  # Arabizi digits: ours
            return None
        found = self._detector.detect(text)
        code = getattr(found, "iso_code", None)
        if code in (None, "en", "hr") or self._detector.results.gap < FOREIGN_GAP:
            return None
        return str(code)
